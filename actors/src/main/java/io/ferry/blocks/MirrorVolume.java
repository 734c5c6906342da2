package io.ferry.blocks;

import io.ferry.blocks.writeback.ChangeTracker;
import io.ferry.blocks.writeback.WriteBackAggregator;
import io.ferry.persistence.blocks.BlockStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The second frontend of a clustered volume, without actors: holds, in its member's block store
 * and change log, a copy of every block the primary frontend serves, so that when the primary's
 * member dies the frontend started here finds every acknowledged write (and, once in sync, every
 * block) already in its store. Not thread-safe: its actor calls it.
 *
 * <p>It starts empty: whatever an earlier life of this member left of the volume (its store map and
 * change log) is dropped at open, because a block the primary rewrote and shipped to the source
 * meanwhile would otherwise come back stale after a promotion (a stale local write is never
 * replaced by the source's block). The primary then sends every block it holds again.
 */
public final class MirrorVolume implements AutoCloseable {

  private final VolumeId volume;
  private final BlockStore store;
  private final ChangeTracker changes;
  private final LongSupplier nanoClock;
  private final long sizeBytes;
  private final int blockSize;
  /** The newest version held per block: an older one arriving late (a fill read before a write) never replaces it. */
  private final Map<Long, Long> versions = new HashMap<>();
  private long held;
  private long stale;

  private MirrorVolume(VolumeId volume, BlockStore store, ChangeTracker changes, LongSupplier nanoClock, long sizeBytes, int blockSize) {
    this.volume = volume;
    this.store = store;
    this.changes = changes;
    this.nanoClock = nanoClock;
    this.sizeBytes = sizeBytes;
    this.blockSize = blockSize;
  }

  /**
   * Opens the mirror of {@code volume} in {@code store}, dropping what the store and the change
   * log at {@code changesLog} held of it before (see the class comment).
   */
  public static MirrorVolume open(VolumeId volume, BlockStore store, Path changesLog, LongSupplier nanoClock, long sizeBytes, int blockSize) throws IOException {
    store.deleteVolume(volume.value());
    store.registerVolume(volume.value(), sizeBytes, blockSize);
    Files.deleteIfExists(changesLog);
    ChangeTracker changes = ChangeTracker.open(changesLog, nanoClock.getAsLong());
    return new MirrorVolume(volume, store, changes, nanoClock, sizeBytes, blockSize);
  }

  public boolean fits(long sizeBytes, int blockSize) {
    return this.sizeBytes == sizeBytes && this.blockSize == blockSize;
  }

  /**
   * Holds version {@code version} of block {@code block} ({@code data} null or empty: all zeros),
   * as a local write when the workload wrote it at the target, recorded as one the source lacks
   * under the primary's sequence {@code pending} when that is not 0. Returns false when a newer
   * version was already held (nothing changed).
   */
  public boolean hold(long block, long version, byte[] data, boolean localWrite, long pending) throws IOException {
    if (block < 0 || block >= (sizeBytes + blockSize - 1) / blockSize) {
      throw new IllegalArgumentException("volume=" + volume + " block " + block + " is outside the volume");
    }
    Long had = versions.get(block);
    if (had != null && had >= version) {
      stale++;
      return false;
    }
    if (data == null || data.length == 0 || BlockBytes.isZero(data)) {
      store.putZero(volume.value(), block, localWrite);
    } else {
      // Whole blocks, hashed as the primary's store hashes them (the same bytes deduplicate alike).
      store.put(volume.value(), block, FrontendVolume.sha256(data, blockSize), data, 0, blockSize, localWrite);
    }
    if (pending > 0) {
      changes.writtenAs(block, pending, nanoClock.getAsLong());
    }
    versions.put(block, version);
    held++;
    return true;
  }

  /**
   * The source holds the primary's shipment {@code number} ({@code blocks[i]} at sequence {@code
   * sequences[i]}): no longer owed to it from here, unless held here under a newer sequence.
   */
  public void shipped(long number, long[] blocks, long[] sequences) throws IOException {
    if (blocks.length != sequences.length || blocks.length == 0) {
      throw new IllegalArgumentException("volume=" + volume + " shipment " + number + " names " + blocks.length + " blocks and " + sequences.length + " sequences");
    }
    List<WriteBackAggregator.BlockVersion> versions = new ArrayList<>(blocks.length);
    for (int i = 0; i < blocks.length; i++) {
      versions.add(new WriteBackAggregator.BlockVersion(blocks[i], sequences[i]));
    }
    changes.confirmedAs(new ChangeTracker.Shipment(number, versions));
  }

  /** Forces what is held to disk (the primary's NBD FLUSH). */
  public void sync() throws IOException {
    store.sync();
    changes.sync();
  }

  /** Blocks held (written or filled) since this mirror opened; versions that arrived after a newer one. */
  public long held() {
    return held;
  }

  public long stale() {
    return stale;
  }

  public long blocksPresent() {
    return store.presentCount(volume.value());
  }

  public long pendingBlocks() {
    return changes.pendingBlocks();
  }

  @Override
  public void close() throws IOException {
    changes.close();
  }
}
