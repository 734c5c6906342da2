package io.ferry.blocks.writeback;

import io.ferry.blocks.writeback.WriteBackAggregator.Batch;
import io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Which of the target's writes the source lacks, for every write policy: write-back ships them in
 * RPO- and size-bounded shipments while the volume runs, a convergence pass ships all of them, and
 * an abort or a reverse ships all of them before the source is the primary again. Under target-only
 * they only accumulate (one entry per block, so bounded by the volume, unlike {@link
 * WriteBackAggregator}'s in-flight batches, which would hold writes once full).
 *
 * <p>Crash safety is {@link WriteBackLog}'s: each write's (block, sequence) is appended before the
 * write is acknowledged, and a shipment the source confirmed is one record carrying its highest
 * sequence. A shipment always takes the pending versions of lowest sequence, so every block whose
 * newest sequence is at most that watermark was in it: after a restart, the pending versions are
 * exactly those above the watermark. One shipment is in flight at a time (the source applies them
 * in order, so an older version never overwrites a newer one). Thread-safe: NBD threads record
 * writes while the frontend's actor ships.
 */
public final class ChangeTracker implements AutoCloseable {

  /** A log larger than this is rewritten as its pending versions once a shipment is confirmed. */
  private static final long COMPACT_BYTES = 4L << 20;

  /** Versions to ship to the source, lowest sequence first; numbered from 1 per volume. */
  public record Shipment(long number, List<BlockVersion> blocks) {
    public Shipment {
      blocks = List.copyOf(blocks);
      if (number < 1 || blocks.isEmpty()) {
        throw new IllegalArgumentException("shipment " + number + " of " + blocks.size() + " blocks");
      }
    }

    public long watermark() {
      return blocks.stream().mapToLong(BlockVersion::sequence).max().orElseThrow();
    }
  }

  /** Figures for the volume's status. */
  public record Stats(long pendingBlocks, long oldestPendingAgeNanos, long writes, long shippedBlocks, long shipments) {}

  private final WriteBackLog log;
  private final Map<Long, Long> newest = new HashMap<>();
  /** sequence → {block, acknowledged at (nanos)}: only each block's newest version. */
  private final TreeMap<Long, long[]> bySequence = new TreeMap<>();
  private long nextSequence;
  private long lastShipment;
  private Shipment inFlight;
  private long writes;
  private long shippedBlocks;
  private long shipments;

  private ChangeTracker(WriteBackLog log, WriteBackLog.Recovered r, long nowNanos) {
    this.log = log;
    this.nextSequence = r.lastSequence() + 1;
    this.lastShipment = r.lastConfirmedBatch();
    for (BlockVersion v : r.pending()) {
      remember(v.block(), v.sequence(), nowNanos);
    }
  }

  /** Opens the tracker's log at {@code path} (created if absent), recovering what the source lacks. */
  public static ChangeTracker open(Path path, long nowNanos) throws IOException {
    Map.Entry<WriteBackLog, WriteBackLog.Recovered> opened = WriteBackLog.open(path);
    return new ChangeTracker(opened.getKey(), opened.getValue(), nowNanos);
  }

  /** A write to {@code block} is in the target's store; recorded before it is acknowledged. */
  public synchronized long written(long block, long nowNanos) throws IOException {
    long seq = nextSequence++;
    log.acknowledged(block, seq);
    remember(block, seq, nowNanos);
    writes++;
    return seq;
  }

  /**
   * A clustered volume's mirror: the primary recorded a write to {@code block} under {@code
   * sequence} (recorded here under the same number, so the primary's confirmations apply here as
   * they are). An older sequence than the one held for the block changes nothing.
   */
  public synchronized void writtenAs(long block, long sequence, long nowNanos) throws IOException {
    if (sequence <= 0) {
      throw new IllegalArgumentException("block " + block + " sequence " + sequence + ": sequences count from 1");
    }
    if (newest.getOrDefault(block, 0L) >= sequence) {
      return;
    }
    log.acknowledged(block, sequence);
    remember(block, sequence, nowNanos);
    nextSequence = Math.max(nextSequence, sequence + 1);
    writes++;
  }

  /**
   * A clustered volume's mirror: the source confirmed the primary's {@code shipment}. Its versions
   * held here are no longer pending (a block held under a newer sequence stays). The primary ships
   * lowest sequences first, so every version here at or below the shipment's watermark was in it or
   * in an earlier confirmed one, and the log's recovery rule holds here as at the primary. Repeats
   * and confirmations in any order are harmless.
   */
  public synchronized void confirmedAs(Shipment shipment) throws IOException {
    log.confirmed(new Batch(shipment.number(), shipment.blocks(), shipment.blocks().size(), 0));
    long cleared = 0;
    for (BlockVersion v : shipment.blocks()) {
      if (newest.remove(v.block(), v.sequence())) {
        bySequence.remove(v.sequence());
        cleared++;
      }
    }
    lastShipment = Math.max(lastShipment, shipment.number());
    shippedBlocks += cleared;
    shipments++;
    compactIfLarge(shipment.watermark());
  }

  private void remember(long block, long seq, long nowNanos) {
    Long old = newest.put(block, seq);
    if (old != null) {
      bySequence.remove(old);
    }
    bySequence.put(seq, new long[] {block, nowNanos});
  }

  /** Whether write-back should ship now: the oldest pending write is {@code rpo} old, or {@code maxBlocks} are pending. */
  public synchronized boolean due(long nowNanos, long rpoNanos, int maxBlocks) {
    return !bySequence.isEmpty() && (nowNanos - bySequence.firstEntry().getValue()[1] >= rpoNanos || newest.size() >= maxBlocks);
  }

  /**
   * The shipment in flight, or a new one of at most {@code maxBlocks} pending versions (lowest
   * sequence first); empty when nothing is pending.
   */
  public synchronized Optional<Shipment> ship(int maxBlocks) {
    if (inFlight != null) {
      return Optional.of(inFlight);
    }
    if (bySequence.isEmpty()) {
      return Optional.empty();
    }
    List<BlockVersion> out = new ArrayList<>();
    Iterator<Map.Entry<Long, long[]>> it = bySequence.entrySet().iterator();
    while (it.hasNext() && out.size() < maxBlocks) {
      Map.Entry<Long, long[]> e = it.next();
      out.add(new BlockVersion(e.getValue()[0], e.getKey()));
    }
    inFlight = new Shipment(lastShipment + 1, out);
    return Optional.of(inFlight);
  }

  /**
   * The source holds shipment {@code number} durably: recorded, and its versions no longer pending
   * unless written again since. A confirmation of another shipment (a late duplicate) returns false.
   */
  public synchronized boolean confirmed(long number) throws IOException {
    if (inFlight == null || inFlight.number() != number) {
      return false;
    }
    Shipment s = inFlight;
    log.confirmed(new Batch(s.number(), s.blocks(), s.blocks().size(), 0));
    for (BlockVersion v : s.blocks()) {
      if (newest.remove(v.block(), v.sequence())) {
        bySequence.remove(v.sequence());
      }
    }
    lastShipment = s.number();
    inFlight = null;
    shippedBlocks += s.blocks().size();
    shipments++;
    compactIfLarge(s.watermark());
    return true;
  }

  private void compactIfLarge(long watermark) throws IOException {
    if (log.sizeBytes() > COMPACT_BYTES) {
      List<BlockVersion> pending = new ArrayList<>();
      bySequence.forEach((seq, v) -> pending.add(new BlockVersion(v[0], seq)));
      log.compact(pending, lastShipment, watermark);
    }
  }

  /** Blocks the source lacks (the in-flight shipment's included until confirmed). */
  public synchronized long pendingBlocks() {
    return newest.size();
  }

  /** The pending version of {@code block} the source lacks, 0 when it holds the newest. */
  public synchronized long pendingSequence(long block) {
    return newest.getOrDefault(block, 0L);
  }

  public synchronized boolean shipping() {
    return inFlight != null;
  }

  /** Forces the log (with the store, on an NBD FLUSH). */
  public void sync() throws IOException {
    log.sync();
  }

  public synchronized Stats stats(long nowNanos) {
    long age = bySequence.isEmpty() ? 0 : Math.max(0, nowNanos - bySequence.firstEntry().getValue()[1]);
    return new Stats(newest.size(), age, writes, shippedBlocks, shipments);
  }

  @Override
  public synchronized void close() throws IOException {
    log.close();
  }
}
