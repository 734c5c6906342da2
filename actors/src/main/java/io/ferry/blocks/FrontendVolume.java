package io.ferry.blocks;

import io.ferry.blocks.plan.TransferProgress;
import io.ferry.persistence.Sha256;
import io.ferry.persistence.blocks.BlockEntry;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.transport.aeron.BlockStream;
import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.ChannelKeys;
import io.ferry.transport.frame.DecodeResult;
import io.ferry.transport.frame.FrameKind;
import io.ferry.transport.nbd.Extent;
import io.ferry.transport.nbd.NbdExport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The target side of one volume, without actors: serves the workload's reads and writes (it is the
 * volume's NBD export) from the block store, fetches missing blocks on demand, stores the blocks that
 * arrive over Aeron and returns background credits. Thread-safe: NBD connection threads, the Aeron
 * receiver thread and the frontend actor call it concurrently. Writes follow the target-only policy:
 * kept at the target, never written back, and never overwritten by a late block from the source.
 */
public final class FrontendVolume implements NbdExport {

  private static final Logger log = LoggerFactory.getLogger(FrontendVolume.class);

  /** Told when every block is present; called once, from the thread that stored the last block. */
  public interface Listener {
    void complete();
  }

  /**
   * The second frontend of a clustered volume, as the export sees it: a write is acknowledged
   * once the mirror holds its blocks too, a flush once the mirror forced them.
   */
  public interface Mirror {
    /**
     * Completes when the mirror holds version {@code version} of {@code block} ({@code data} null:
     * zeros); {@code pending} is the sequence this frontend's change log gave the write the source
     * lacks (0: the source holds the block), so the mirror's log numbers it alike.
     */
    CompletionStage<Void> hold(long block, long version, byte[] data, boolean localWrite, long pending);

    CompletionStage<Void> flush();
  }

  /** A block as held here, for the mirror's fill: its bytes (null: zeros) under a version newer than any write's before it. */
  public record Snapshot(long block, long version, byte[] data, boolean localWrite, long pending) {}

  private record ToMirror(long block, long version, byte[] data, long sequence) {}

  private final VolumeId volume;
  private final String storeKey;
  private final BlockStore store;
  private final BlockSettings settings;
  private final Executor readExecutor;
  private final LongSupplier nanoClock;
  private final Listener listener;

  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private final Object writeLock = new Object();

  private volatile long sizeBytes = -1;
  private volatile int blockSize;
  private volatile long blockCount;
  private volatile BackendLink backend;
  private volatile long attachId;
  private volatile boolean completed;
  private TransferProgress progress;

  // Background credits granted to the current attachment and blocks that arrived on it.
  private final AtomicLong creditsGranted = new AtomicLong();
  private final AtomicLong backgroundArrived = new AtomicLong();
  private final AtomicLong creditsOwed = new AtomicLong();
  private volatile long lastBackgroundNanos;

  /**
   * Keys of this volume's most recent attachments (attach id → key), newest last; frames of an
   * older attachment still in flight open with its key. Written on the actor's thread, read on
   * the receiver's: replaced whole, never changed in place.
   */
  private volatile Map<Long, ChannelKeys.OpenKey> channelKeys = Map.of();
  /** Kept encrypted at rest: blocks are stored sealed, and only with the key, which comes from the source site. */
  private volatile boolean atRest;
  private volatile AtRestCipher restCipher;
  private final AtomicLong restKeyMissing = new AtomicLong();
  private volatile boolean sealed;
  private static final int CHANNEL_KEYS_KEPT = 4;

  private final AtomicLong onDemandFetches = new AtomicLong();
  private final AtomicLong duplicateBlocks = new AtomicLong();
  private final AtomicLong refMisses = new AtomicLong();
  private final AtomicLong corruptFrames = new AtomicLong();
  private final AtomicLong localWrites = new AtomicLong();
  private final AtomicLong framesOnDemand = new AtomicLong();
  private final AtomicLong framesBackground = new AtomicLong();

  /** What the source lacks of this volume's writes (set by the frontend once its log is open). */
  private volatile io.ferry.blocks.writeback.ChangeTracker changes;
  /** The clustered volume's second frontend, or null (one frontend). */
  private volatile Mirror mirror;
  /**
   * Orders the versions of a block the mirror receives (written under writeLock). It starts at
   * the wall clock shifted left, so a frontend restarted on the same member (its mirror still
   * holding the versions of the one before) numbers above it.
   */
  private long version = System.currentTimeMillis() << 16;

  /** Writes wait on it while a convergence pass holds them (write-blocking); completed otherwise. */
  private volatile CompletableFuture<Void> writeGate = CompletableFuture.completedFuture(null);

  private static final class Pending {
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final long firstNanos;
    volatile long lastAskNanos;
    volatile boolean noRef;

    Pending(long now) {
      this.firstNanos = now;
      this.lastAskNanos = now;
    }
  }

  public FrontendVolume(VolumeId volume, BlockStore store, BlockSettings settings, Executor readExecutor, LongSupplier nanoClock, Listener listener) {
    this.volume = volume;
    this.storeKey = volume.value();
    this.store = store;
    this.settings = settings;
    this.readExecutor = readExecutor;
    this.nanoClock = nanoClock;
    this.listener = listener;
  }

  /** The geometry the backend reported; registers the volume in the store (refused if it changed). */
  public synchronized void geometry(long sizeBytes, int blockSize) throws IOException {
    if (this.sizeBytes >= 0) {
      if (this.sizeBytes != sizeBytes || this.blockSize != blockSize) {
        throw new IllegalStateException(
            "volume=" + volume + " geometry changed: " + this.sizeBytes + "/" + this.blockSize + " -> " + sizeBytes + "/" + blockSize);
      }
      return;
    }
    store.registerVolume(storeKey, sizeBytes, blockSize);
    this.blockSize = blockSize;
    this.blockCount = (sizeBytes + blockSize - 1) / blockSize;
    this.progress = new TransferProgress(blockCount, blockSize);
    this.sizeBytes = sizeBytes;
    synchronized (progress) {
      progress.present(store.presentCount(storeKey));
    }
    checkComplete();
  }

  private int credits() {
    return settings.backgroundCredits(blockSize);
  }

  public boolean hasGeometry() {
    return sizeBytes >= 0;
  }

  public int blockSizeBytes() {
    return blockSize;
  }

  /** A new attachment to a backend: fetches everything the workload waits for again. */
  public void attach(BackendLink link, long attachId) {
    this.backend = link;
    this.attachId = attachId;
    creditsGranted.set(credits());
    backgroundArrived.set(0);
    creditsOwed.set(0);
    lastBackgroundNanos = nanoClock.getAsLong();
    refetchAll(true);
  }

  /**
   * The key the backend seals this attachment's frames with; from the first key on, the volume
   * takes sealed frames only (a plain one is refused, so nobody can downgrade the channel).
   */
  public synchronized void channelKey(long attachId, byte[] key) {
    java.util.LinkedHashMap<Long, ChannelKeys.OpenKey> next = new java.util.LinkedHashMap<>(channelKeys);
    next.remove(attachId);
    next.put(attachId, new ChannelKeys.OpenKey(key));
    while (next.size() > CHANNEL_KEYS_KEPT) {
      next.remove(next.keySet().iterator().next());
    }
    channelKeys = java.util.Collections.unmodifiableMap(next);
    sealed = true;
  }

  /** From now on blocks are stored encrypted; until {@link #restKey} none is stored or read. */
  public void encryptedAtRest() {
    atRest = true;
  }

  public boolean isEncryptedAtRest() {
    return atRest;
  }

  /** The volume's at-rest key, from the backend at the source site; held in memory only. */
  public void restKey(byte[] key) {
    restCipher = new AtRestCipher(key);
    atRest = true;
  }

  /** Blocks that arrived before the at-rest key and were asked for again. */
  public long restKeyMissing() {
    return restKeyMissing.get();
  }

  private AtRestCipher requireRestKey() {
    AtRestCipher c = restCipher;
    if (c == null) {
      throw new IllegalStateException(unavailable());
    }
    return c;
  }

  /**
   * Why this member cannot serve the volume's blocks now, or "" when it can: kept encrypted at
   * rest and the key (which lives only at the source site) has not reached this member since it
   * started. Reported in the status so an operator sees it without a failed read.
   */
  public String unavailable() {
    if (!atRest || restCipher != null) {
      return "";
    }
    return "volume=" + volume + " is kept encrypted at rest under a key that lives only at its source site, and this member has not"
        + " received it since it started: the source site is unreachable or has not attached yet. The " + (sizeBytes < 0 ? 0 : store.presentCount(storeKey))
        + " blocks held here are intact; reads are served again once the source attaches";
  }

  /** Stores a block's bytes: as they are, or sealed under the at-rest key (which must be here). */
  private void putData(long b, byte[] block, int length, boolean localWrite) throws IOException {
    if (atRest) {
      AtRestCipher c = requireRestKey();
      byte[] tag = c.tag(block, length);
      store.put(storeKey, b, tag, c.seal(block, length, tag), 0, length, localWrite);
    } else {
      store.put(storeKey, b, sha256(block, length), block, 0, length, localWrite);
    }
  }

  /** Reads a block's bytes into {@code block}, opening it when kept encrypted; false when absent. */
  private boolean readData(long b, byte[] block) throws IOException {
    if (!store.read(storeKey, b, block)) {
      return false;
    }
    if (atRest) {
      Optional<BlockEntry> e = store.lookup(storeKey, b);
      if (e.isPresent() && e.get().kind() == BlockEntry.Kind.DATA) {
        requireRestKey().open(block, blockSize, e.get().sha256());
      }
    }
    return true;
  }

  /** The block's bytes as the workload sees them (opened when kept encrypted); false when absent. */
  public boolean readBlock(long b, byte[] into) throws IOException {
    return readData(b, into);
  }

  ChannelKeys.OpenKey channelKey(long attachId) {
    return channelKeys.get(attachId);
  }

  boolean sealedOnly() {
    return sealed;
  }

  public void detach() {
    this.backend = null;
  }

  public long attachId() {
    return attachId;
  }

  /** Blocks present at the target (stored, referenced, zero or written locally), as a bitmap. */
  public BitSet present() {
    return store.present(storeKey);
  }

  /** The source scan found these blocks all zero: they are present without any data crossing. */
  public void zeroBlocks(BitSet zeros) throws IOException {
    for (int b = zeros.nextSetBit(0); b >= 0; b = zeros.nextSetBit(b + 1)) {
      if (b < blockCount && store.lookup(storeKey, b).isEmpty()) {
        store.putZero(storeKey, b, false);
        record("ZERO", 0);
        resolve(b);
      }
    }
    checkComplete();
  }

  // ---------------------------------------------------------------- frames from the backend

  /** One block arrived (called on the Aeron receiver thread). */
  public void onFrame(BlockStream stream, BlockFrameDecoder frame) {
    long b = frame.blockIndex();
    if (sizeBytes < 0 || b < 0 || b >= blockCount || frame.blockLength() != blockSize) {
      corruptFrames.incrementAndGet();
      log.warn("volume={} frame for block {} length {} does not fit the volume ({} blocks of {}): dropped", volume, b, frame.blockLength(), blockCount, blockSize);
      return;
    }
    long now = nanoClock.getAsLong();
    if (stream == BlockStream.BACKGROUND) {
      framesBackground.incrementAndGet();
      if (frame.requestId() == attachId) {
        backgroundArrived.incrementAndGet();
        lastBackgroundNanos = now;
        long owed = creditsOwed.incrementAndGet();
        int batch = Math.max(1, credits() / 4);
        if (owed >= batch && creditsOwed.compareAndSet(owed, 0)) {
          BackendLink link = backend;
          if (link != null) {
            creditsGranted.addAndGet(owed);
            link.credit(attachId, (int) owed);
          }
        }
      }
    } else {
      framesOnDemand.incrementAndGet();
    }
    try {
      boolean had = store.lookup(storeKey, b).isPresent();
      int wire = frame.payloadLength();
      if (atRest && frame.kind() != FrameKind.ZERO && restCipher == null) {
        // Nothing is stored in the clear: asked again, it arrives after the key (which travels with the attach's answer).
        restKeyMissing.incrementAndGet();
        if (!had) {
          pending.computeIfAbsent(b, k -> new Pending(now));
          BackendLink link = backend;
          if (link != null) {
            link.fetch(attachId, new long[] {b}, false);
          }
        }
        return;
      }
      switch (frame.kind()) {
        case ZERO -> store.putZero(storeKey, b, false);
        case REF -> {
          // A volume kept encrypted never links to a block by its plain hash: that block may be another volume's, in the clear.
          if (atRest || !store.putRef(storeKey, b, frame.hash(), false)) {
            // The data this REF names has not arrived (it may travel on the other stream): ask
            // for the bytes themselves.
            refMisses.incrementAndGet();
            if (!had) {
              Pending p = pending.computeIfAbsent(b, k -> new Pending(now));
              p.noRef = true;
              BackendLink link = backend;
              if (link != null) {
                link.fetch(attachId, new long[] {b}, true);
              }
            }
            return;
          }
        }
        case LZ4, RAW -> putData(b, frame.blockBytes(), frame.blockLength(), false);
        default -> throw new IllegalStateException("unknown frame kind " + frame.kind());
      }
      if (had) {
        duplicateBlocks.incrementAndGet();
      } else {
        record(frame.kind().name(), wire);
      }
      resolve(b);
      checkComplete();
    } catch (IOException e) {
      // The block is not stored; a reader waiting for it fetches it again after fetch-timeout.
      log.error("volume={} block={} could not be stored", volume, b, e);
    }
  }

  /** A frame failed its checks: never stored; the block is asked for again if the workload waits. */
  public void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial) {
    corruptFrames.incrementAndGet();
    log.warn("volume={} corrupt frame on {} ({}), header readable={}", volume, stream, result, partial.headerReadable());
    if (partial.headerReadable()) {
      long b = partial.blockIndex();
      BackendLink link = backend;
      if (b >= 0 && b < blockCount && link != null && store.lookup(storeKey, b).isEmpty()) {
        pending.computeIfAbsent(b, k -> new Pending(nanoClock.getAsLong()));
        link.fetch(attachId, new long[] {b}, false);
      }
    }
  }

  // ---------------------------------------------------------------- NBD export

  @Override
  public String name() {
    return volume.value();
  }

  @Override
  public long sizeBytes() {
    return Math.max(0, sizeBytes);
  }

  @Override
  public boolean readOnly() {
    return false;
  }

  /** One store serves every connection and FLUSH syncs all of it: safe for several connections. */
  @Override
  public boolean canMultiConn() {
    return true;
  }

  @Override
  public CompletionStage<byte[]> read(long offset, int length) {
    CompletableFuture<Void> ready = ensure(offset, length);
    if (ready.isDone() && !ready.isCompletedExceptionally()) {
      // A read that cannot be served (a damaged block, no at-rest key) fails its future, as the async path does.
      try {
        return CompletableFuture.completedFuture(assemble(offset, length));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    return ready.thenApplyAsync(v -> assemble(offset, length), readExecutor);
  }

  @Override
  public CompletionStage<Void> write(long offset, byte[] data) {
    // Partially written blocks need their current contents first (read-modify-write).
    long first = offset / blockSize;
    long last = (offset + data.length - 1) / blockSize;
    List<CompletableFuture<Void>> bases = new ArrayList<>();
    if (offset % blockSize != 0) {
      bases.add(ensure(first * blockSize, 1));
    }
    if ((offset + data.length) % blockSize != 0) {
      bases.add(ensure(last * blockSize, 1));
    }
    CompletableFuture<Void> gate = writeGate;
    return CompletableFuture.allOf(bases.toArray(CompletableFuture[]::new))
        .thenCombine(gate, (x, y) -> y)
        .thenApplyAsync(x -> apply(offset, data, data.length), readExecutor)
        .thenCompose(this::mirrored);
  }

  /** Completes once the mirror (if any) holds {@code blocks}: only then is the write acknowledged. */
  private CompletionStage<Void> mirrored(List<ToMirror> blocks) {
    Mirror m = mirror;
    if (m == null || blocks.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<?>[] all = new CompletableFuture<?>[blocks.size()];
    for (int i = 0; i < all.length; i++) {
      ToMirror t = blocks.get(i);
      all[i] = m.hold(t.block(), t.version(), t.data(), true, t.sequence()).toCompletableFuture();
    }
    return CompletableFuture.allOf(all);
  }

  /** From now on writes are acknowledged only once {@code mirror} holds them too (null: by this frontend alone). */
  public void mirror(Mirror mirror) {
    this.mirror = mirror;
  }

  /**
   * Block {@code b} as held here, with a version above every write applied to it so far, or
   * empty when it is not present; for the mirror's fill.
   */
  public Optional<Snapshot> snapshot(long b) {
    if (sizeBytes < 0) {
      return Optional.empty();
    }
    synchronized (writeLock) {
      Optional<BlockEntry> e = store.lookup(storeKey, b);
      if (e.isEmpty()) {
        return Optional.empty();
      }
      byte[] data = null;
      if (e.get().kind() == BlockEntry.Kind.DATA) {
        data = new byte[blockSize];
        try {
          if (!readData(b, data)) {
            return Optional.empty();
          }
        } catch (IOException ex) {
          throw new UncheckedIOException("volume=" + volume + " block=" + b + " cannot be read for the mirror", ex);
        }
      }
      io.ferry.blocks.writeback.ChangeTracker c = changes;
      long pending = c == null ? 0 : c.pendingSequence(b);
      return Optional.of(new Snapshot(b, ++version, data, e.get().localWrite(), pending));
    }
  }

  @Override
  public CompletionStage<Void> flush() {
    CompletableFuture<Void> local = CompletableFuture.runAsync(
        () -> {
          try {
            store.sync();
            io.ferry.blocks.writeback.ChangeTracker c = changes;
            if (c != null) {
              c.sync();
            }
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        readExecutor);
    Mirror m = mirror;
    return m == null ? local : local.thenCompose(x -> m.flush());
  }

  @Override
  public CompletionStage<Void> trim(long offset, long length) {
    return writeZeroes(offset, length);
  }

  @Override
  public CompletionStage<Void> writeZeroes(long offset, long length) {
    long end = offset + length;
    List<CompletionStage<Void>> parts = new ArrayList<>();
    long pos = offset;
    while (pos < end) {
      long blockStart = pos / blockSize * blockSize;
      long blockEnd = blockStart + blockSize;
      if (pos == blockStart && end >= blockEnd) {
        long b = pos / blockSize;
        parts.add(writeGate.thenApplyAsync(x -> zero(b), readExecutor).thenCompose(this::mirrored));
        pos = blockEnd;
      } else {
        int n = (int) (Math.min(end, blockEnd) - pos);
        parts.add(write(pos, new byte[n]));
        pos += n;
      }
    }
    return CompletableFuture.allOf(parts.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new));
  }

  @Override
  public CompletionStage<List<Extent>> blockStatus(long offset, long length) {
    List<Extent> extents = new ArrayList<>();
    long end = Math.min(sizeBytes, offset + length);
    long pos = offset;
    while (pos < end) {
      long b = pos / blockSize;
      long blockEnd = Math.min(sizeBytes, (b + 1) * blockSize);
      boolean zero = store.lookup(storeKey, b).map(e -> e.kind() == BlockEntry.Kind.ZERO).orElse(false);
      long n = blockEnd - pos;
      if (!extents.isEmpty() && extents.get(extents.size() - 1).zero() == zero) {
        Extent prev = extents.remove(extents.size() - 1);
        extents.add(new Extent(prev.length() + n, zero, zero));
      } else {
        extents.add(new Extent(n, zero, zero));
      }
      pos = blockEnd;
    }
    return CompletableFuture.completedFuture(extents);
  }

  /** Completes when every block of [offset, offset+length) is present, fetching the missing ones. */
  private CompletableFuture<Void> ensure(long offset, int length) {
    if (sizeBytes < 0) {
      return CompletableFuture.failedFuture(new IllegalStateException("volume=" + volume + " is not attached to its source yet"));
    }
    long first = offset / blockSize;
    long last = (offset + Math.max(1, length) - 1) / blockSize;
    List<CompletableFuture<Void>> waits = null;
    long[] ask = null;
    int asks = 0;
    long now = nanoClock.getAsLong();
    for (long b = first; b <= last; b++) {
      if (store.lookup(storeKey, b).isPresent()) {
        continue;
      }
      boolean[] created = {false};
      Pending p = pending.computeIfAbsent(b, k -> {
        created[0] = true;
        return new Pending(now);
      });
      // Stored between the first check and the registration: resolve() may have missed us.
      if (store.lookup(storeKey, b).isPresent()) {
        resolve(b);
        continue;
      }
      if (waits == null) {
        waits = new ArrayList<>();
        ask = new long[(int) (last - b + 1)];
      }
      waits.add(p.done);
      if (created[0]) {
        ask[asks++] = b;
      }
    }
    if (waits == null) {
      return CompletableFuture.completedFuture(null);
    }
    if (asks > 0) {
      sendFetch(java.util.Arrays.copyOf(ask, asks), false);
    }
    return CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new));
  }

  private void sendFetch(long[] blocks, boolean noRef) {
    BackendLink link = backend;
    if (link == null) {
      return; // sent when the frontend attaches
    }
    int max = settings.fetchBlocksMax();
    for (int i = 0; i < blocks.length; i += max) {
      long[] part = java.util.Arrays.copyOfRange(blocks, i, Math.min(blocks.length, i + max));
      onDemandFetches.addAndGet(part.length);
      link.fetch(attachId, part, noRef);
    }
  }

  private byte[] assemble(long offset, int length) {
    byte[] out = new byte[length];
    byte[] block = new byte[blockSize];
    long pos = offset;
    int written = 0;
    try {
      while (written < length) {
        long b = pos / blockSize;
        int within = (int) (pos - b * blockSize);
        int n = Math.min(length - written, blockSize - within);
        if (!readData(b, block)) {
          throw new IllegalStateException("volume=" + volume + " block=" + b + " vanished from the store");
        }
        System.arraycopy(block, within, out, written, n);
        written += n;
        pos += n;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("volume=" + volume + " read at " + offset + " failed", e);
    }
    return out;
  }

  private List<ToMirror> apply(long offset, byte[] data, int length) {
    byte[] block = new byte[blockSize];
    long pos = offset;
    int done = 0;
    List<ToMirror> toMirror = new ArrayList<>();
    boolean mirroring = mirror != null;
    try {
      synchronized (writeLock) {
        while (done < length) {
          long b = pos / blockSize;
          int within = (int) (pos - b * blockSize);
          int n = Math.min(length - done, blockSize - within);
          boolean had = store.lookup(storeKey, b).isPresent();
          if (n < blockSize) {
            if (!readData(b, block)) {
              throw new IllegalStateException("volume=" + volume + " block=" + b + " must be present before a partial write");
            }
          }
          System.arraycopy(data, done, block, within, n);
          boolean zero = BlockBytes.isZero(block);
          if (zero) {
            store.putZero(storeKey, b, true);
          } else {
            putData(b, block, blockSize, true);
          }
          long sequence = tracked(b);
          if (mirroring) {
            toMirror.add(new ToMirror(b, ++version, zero ? null : block.clone(), sequence));
          }
          localWrites.incrementAndGet();
          if (!had) {
            record(null, 0);
          }
          resolve(b);
          done += n;
          pos += n;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("volume=" + volume + " write at " + offset + " failed", e);
    }
    checkComplete();
    return toMirror;
  }

  private List<ToMirror> zero(long b) {
    List<ToMirror> toMirror = new ArrayList<>(1);
    try {
      synchronized (writeLock) {
        boolean had = store.lookup(storeKey, b).isPresent();
        store.putZero(storeKey, b, true);
        long sequence = tracked(b);
        if (mirror != null) {
          toMirror.add(new ToMirror(b, ++version, null, sequence));
        }
        localWrites.incrementAndGet();
        if (!had) {
          record(null, 0);
        }
        resolve(b);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("volume=" + volume + " write zeroes at block " + b + " failed", e);
    }
    checkComplete();
    return toMirror;
  }

  /** Records the write of block {@code b} as one the source lacks, before it is acknowledged; its sequence (0: not tracked). */
  private long tracked(long b) throws IOException {
    io.ferry.blocks.writeback.ChangeTracker c = changes;
    return c == null ? 0 : c.written(b, nanoClock.getAsLong());
  }

  /** From now on every write is recorded in {@code tracker} before it is acknowledged. */
  public void trackChanges(io.ferry.blocks.writeback.ChangeTracker tracker) {
    this.changes = tracker;
  }

  /**
   * Holds the acknowledgement of writes not yet applied until {@link #releaseWrites}: a
   * convergence pass whose predecessor did not shrink ships with the writes held, so it converges.
   */
  public synchronized void holdWrites() {
    if (writeGate.isDone()) {
      writeGate = new CompletableFuture<>();
    }
  }

  public synchronized void releaseWrites() {
    writeGate.complete(null);
  }

  public boolean writesHeld() {
    return !writeGate.isDone();
  }

  /** One more block present (received as {@code kind} with {@code wireBytes}, or written locally when kind is null). */
  private void record(String kind, long wireBytes) {
    synchronized (progress) {
      if (kind != null) {
        progress.sent(kind, wireBytes, blockSize, nanoClock.getAsLong());
      }
      progress.present(store.presentCount(storeKey));
    }
  }

  private void resolve(long b) {
    Pending p = pending.remove(b);
    if (p != null) {
      p.done.complete(null);
    }
  }

  // ---------------------------------------------------------------- timers (the actor's tick)

  /**
   * Sends again the fetches not answered within fetch-timeout, fails reads waiting longer than
   * read-timeout, and says whether the background copy stalled (credits out, nothing arriving):
   * then the frontend re-attaches so the backend requeues what it had handed out.
   */
  public boolean tick() {
    long now = nanoClock.getAsLong();
    long fetchTimeout = settings.fetchTimeout().toNanos();
    long readTimeout = settings.readTimeout().toNanos();
    List<Long> again = new ArrayList<>();
    List<Long> againNoRef = new ArrayList<>();
    for (Map.Entry<Long, Pending> e : pending.entrySet()) {
      Pending p = e.getValue();
      if (now - p.firstNanos > readTimeout) {
        if (pending.remove(e.getKey(), p)) {
          p.done.completeExceptionally(new TimeoutException("volume=" + volume + " block=" + e.getKey() + " not received within " + settings.readTimeout()));
        }
      } else if (now - p.lastAskNanos > fetchTimeout) {
        p.lastAskNanos = now;
        (p.noRef ? againNoRef : again).add(e.getKey());
      }
    }
    if (!again.isEmpty()) {
      sendFetch(again.stream().mapToLong(Long::longValue).toArray(), false);
    }
    if (!againNoRef.isEmpty()) {
      sendFetch(againNoRef.stream().mapToLong(Long::longValue).toArray(), true);
    }
    return !completed
        && settings.backgroundEnabled()
        && backend != null
        && sizeBytes >= 0
        && now - lastBackgroundNanos > settings.backgroundStall().toNanos();
  }

  private void refetchAll(boolean resetClock) {
    long now = nanoClock.getAsLong();
    List<Long> plain = new ArrayList<>();
    List<Long> noRef = new ArrayList<>();
    for (Map.Entry<Long, Pending> e : pending.entrySet()) {
      if (resetClock) {
        e.getValue().lastAskNanos = now;
      }
      (e.getValue().noRef ? noRef : plain).add(e.getKey());
    }
    if (!plain.isEmpty()) {
      sendFetch(plain.stream().mapToLong(Long::longValue).toArray(), false);
    }
    if (!noRef.isEmpty()) {
      sendFetch(noRef.stream().mapToLong(Long::longValue).toArray(), true);
    }
  }

  private void checkComplete() {
    if (!completed && sizeBytes >= 0 && store.presentCount(storeKey) >= blockCount) {
      synchronized (this) {
        if (completed) {
          return;
        }
        completed = true;
      }
      log.info("volume={} every block present at the target ({} blocks)", volume, blockCount);
      listener.complete();
    }
  }

  public boolean completed() {
    return completed;
  }

  /** Blocks present at the target (0 before the geometry is known); cheaper than {@link #status()}. */
  public long blocksPresent() {
    return sizeBytes < 0 ? 0 : store.presentCount(storeKey);
  }

  // ---------------------------------------------------------------- status

  public FrontendStatus status() {
    long now = nanoClock.getAsLong();
    long present = sizeBytes < 0 ? 0 : store.presentCount(storeKey);
    return new FrontendStatus(
        volume,
        sizeBytes,
        blockSize,
        blockCount,
        present,
        blockCount == 0 ? 0 : 100.0 * present / blockCount,
        completed,
        progress == null ? Map.of() : snapshot(),
        onDemandFetches.get(),
        framesOnDemand.get(),
        framesBackground.get(),
        duplicateBlocks.get(),
        refMisses.get(),
        corruptFrames.get(),
        localWrites.get(),
        pending.size(),
        unavailable());
  }

  private Map<String, Object> snapshot() {
    synchronized (progress) {
      return new java.util.LinkedHashMap<>(progress.snapshot(nanoClock.getAsLong()));
    }
  }

  /** Progress as plain figures: how much is present, what crossed the wire, what went wrong. */
  public record FrontendStatus(
      VolumeId volume,
      long sizeBytes,
      int blockSizeBytes,
      long blockCount,
      long blocksPresent,
      double percent,
      boolean complete,
      Map<String, Object> transfer,
      long onDemandBlocksFetched,
      long framesOnDemand,
      long framesBackground,
      long duplicateBlocks,
      long refMisses,
      long corruptFrames,
      long localWrites,
      long readsWaiting,
      String unavailable)
      implements io.ferry.persistence.CborSerializable {}

  // ---------------------------------------------------------------- helpers

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(Sha256::create);

  static byte[] sha256(byte[] data, int length) {
    MessageDigest md = SHA256.get();
    md.update(data, 0, length);
    return md.digest();
  }
}
