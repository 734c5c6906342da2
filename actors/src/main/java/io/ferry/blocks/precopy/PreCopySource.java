package io.ferry.blocks.precopy;

import io.ferry.transport.nbd.NbdExport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source volume as its workload uses it during a pre-copy migration: an NBD export at the
 * source member over the source image, read and written in place. Every write is tracked in {@link
 * DirtyBlocks} after its bytes are in the file and before it is acknowledged. Once {@link
 * #blockWrites} names the target, a write holds its blocks ({@link BlockLocks}), writes the file,
 * and is acknowledged only when the target holds the blocks' new bytes too (write-blocking). {@link
 * #holdWrites} makes new writes wait (the cut-over pause); {@link #cutOver} refuses them for good:
 * from then on the target is the primary and the workload goes on there. Writes run on a thread of
 * their own (a mirrored one waits for the link), never on the NBD connection's.
 */
public final class PreCopySource implements NbdExport, AutoCloseable {

  /** Bytes of zeroes written per step for WRITE_ZEROES and TRIM. */
  private static final int ZERO_CHUNK_BYTES = 1 << 20;

  private final String name;
  private final FileChannel file;
  private final long sizeBytes;
  private final int blockSize;
  private final long blockCount;
  private final DirtyBlocks dirty;
  private final BlockLocks locks = new BlockLocks();
  private final ExecutorService writers;
  /** The change set on disk, so a restart recopies only what may differ (null: in memory only). */
  private final DirtyBlockLog changeLog;

  // Guarded by `this`.
  private CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
  private int inFlight;
  private String refusal = "";

  /** The target that writes are mirrored to once write-blocking (null before). */
  private volatile BlockSink mirror;

  private final AtomicLong writesAcknowledged = new AtomicLong();
  private final AtomicLong writesMirrored = new AtomicLong();
  private final AtomicLong writesRefused = new AtomicLong();

  /**
   * @param writerThreads writes applied at once (each may wait a round trip when write-blocking)
   */
  public PreCopySource(String name, Path image, int blockSize, int writerThreads) throws IOException {
    this(name, image, blockSize, writerThreads, null, false);
  }

  /**
   * A source whose change set is also kept in the {@link DirtyBlockLog} at {@code changeLog}:
   * {@code restart} reads it (every block marked if it cannot be read), else it starts empty.
   */
  public static PreCopySource logged(String name, Path image, int blockSize, int writerThreads, Path changeLog, boolean restart) throws IOException {
    return new PreCopySource(name, image, blockSize, writerThreads, changeLog, restart);
  }

  private PreCopySource(String name, Path image, int blockSize, int writerThreads, Path changeLog, boolean restart) throws IOException {
    if (blockSize < 512 || Integer.bitCount(blockSize) != 1) {
      throw new IllegalArgumentException("block size must be a power of two >= 512, got " + blockSize);
    }
    if (writerThreads < 1 || writerThreads > 256) {
      throw new IllegalArgumentException("1..256 writer threads, got " + writerThreads);
    }
    this.name = name;
    this.file = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
    this.sizeBytes = Files.size(image);
    if (sizeBytes <= 0) {
      file.close();
      throw new IOException("source " + image + " is empty");
    }
    this.blockSize = blockSize;
    this.blockCount = (sizeBytes + blockSize - 1) / blockSize;
    try {
      DirtyBlockLog.requireSupported(blockCount, blockSize); // the change set's limit too
    } catch (IllegalArgumentException e) {
      file.close();
      throw new IllegalArgumentException("source " + image + ": " + e.getMessage(), e);
    }
    this.dirty = new DirtyBlocks(blockCount);
    try {
      this.changeLog = changeLog == null ? null : DirtyBlockLog.open(changeLog, blockSize, dirty, restart);
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
    this.writers = Executors.newFixedThreadPool(writerThreads, r -> {
      Thread t = new Thread(r, "ferry-precopy-write-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  public DirtyBlocks dirty() {
    return dirty;
  }

  /** The change set on disk, if this source keeps one. */
  public java.util.Optional<DirtyBlockLog> changeLog() {
    return java.util.Optional.ofNullable(changeLog);
  }

  BlockLocks locks() {
    return locks;
  }

  public int blockSize() {
    return blockSize;
  }

  public long blockCount() {
    return blockCount;
  }

  // ------------------------------------------------------------------ the export

  @Override
  public String name() {
    return name;
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  @Override
  public boolean readOnly() {
    return false;
  }

  @Override
  public boolean canMultiConn() {
    return true; // one file; FLUSH forces it whichever connection wrote
  }

  @Override
  public CompletionStage<byte[]> read(long offset, int length) {
    try {
      byte[] out = new byte[length];
      readFully(offset, out, length);
      return CompletableFuture.completedFuture(out);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public CompletionStage<Void> write(long offset, byte[] data) {
    CompletableFuture<Void> waitFor;
    synchronized (this) {
      if (!refusal.isEmpty()) {
        writesRefused.incrementAndGet();
        return CompletableFuture.failedFuture(new IOException(refusal));
      }
      if (gate.isDone()) {
        inFlight++;
        waitFor = null;
      } else {
        waitFor = gate;
      }
    }
    if (waitFor != null) {
      // Held for the cut-over: asked again once released (refused if the cut-over happened).
      return waitFor.thenCompose(x -> write(offset, data));
    }
    return CompletableFuture.runAsync(() -> {
      try {
        apply(offset, data);
        writesAcknowledged.incrementAndGet();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      } finally {
        synchronized (this) {
          inFlight--;
          notifyAll();
        }
      }
    }, writers);
  }

  @Override
  public CompletionStage<Void> flush() {
    try {
      file.force(false);
      return CompletableFuture.completedFuture(null);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public CompletionStage<Void> trim(long offset, long length) {
    return writeZeroes(offset, length);
  }

  @Override
  public CompletionStage<Void> writeZeroes(long offset, long length) {
    CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
    for (long pos = offset; pos < offset + length; pos += ZERO_CHUNK_BYTES) {
      long at = pos;
      int n = (int) Math.min(ZERO_CHUNK_BYTES, offset + length - pos);
      all = all.thenCompose(x -> write(at, new byte[n]));
    }
    return all;
  }

  private void apply(long offset, byte[] data) throws IOException, InterruptedException {
    long first = offset / blockSize;
    long last = (offset + data.length - 1) / blockSize;
    // The marks are on disk before the bytes (see DirtyBlockLog) and stay until the write ended.
    DirtyBlockLog.Pending logged = changeLog == null ? null : changeLog.beginWrite(first, last);
    try {
      applyTracked(offset, data, first, last);
    } finally {
      if (logged != null) {
        changeLog.endWrite(logged);
      }
    }
  }

  private void applyTracked(long offset, byte[] data, long first, long last) throws IOException, InterruptedException {
    BlockSink target = mirror;
    if (target == null) {
      writeFully(offset, data);
      dirty.mark(first, last); // after the bytes are in the file: a copy reading before them sees the mark
      return;
    }
    locks.acquire(first, last);
    try {
      writeFully(offset, data);
      long start = first * blockSize;
      int length = (int) (Math.min(sizeBytes, (last + 1) * blockSize) - start);
      byte[] blocks = new byte[length];
      readFully(start, blocks, length);
      try {
        target.write(start, blocks, length);
        writesMirrored.incrementAndGet();
      } catch (IOException e) {
        dirty.mark(first, last); // in the file, not at the target: the next pass ships it
        throw e;
      }
    } finally {
      locks.release(first, last);
    }
  }

  // ------------------------------------------------------------------ the migration's side

  /** From now on a write is acknowledged once {@code target} holds it too. */
  public void blockWrites(BlockSink target) {
    this.mirror = target;
  }

  public boolean writeBlocking() {
    return mirror != null;
  }

  /** New writes wait; returns once every write already under way is acknowledged (and tracked). */
  public void holdWrites(long timeoutNanos) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + timeoutNanos;
    synchronized (this) {
      if (gate.isDone()) {
        gate = new CompletableFuture<>();
      }
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IOException(inFlight + " writes still under way after " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
  }

  /** Whether new writes wait (the final pass is under way). */
  public synchronized boolean writesHeld() {
    return !gate.isDone();
  }

  /** Held writes go on at the source (the cut-over did not happen). */
  public void releaseWrites() {
    CompletableFuture<Void> g;
    synchronized (this) {
      g = gate;
    }
    g.complete(null);
  }

  /** The target is the primary: held and later writes are refused (never acknowledged here). */
  public void cutOver(String why) {
    CompletableFuture<Void> g;
    synchronized (this) {
      refusal = why;
      g = gate;
    }
    g.complete(null); // held writes ask again and are refused
  }

  /**
   * Before the target's flush after a pass: which marks on disk that flush covers (null without a
   * change log). Pass it to {@link #targetFlushed} once the flush returned.
   */
  DirtyBlockLog.Cut beforeTargetFlush() {
    return changeLog == null ? null : changeLog.cut(dirty);
  }

  /** The target holds the shipped blocks durably: their marks leave the change log. */
  void targetFlushed(DirtyBlockLog.Cut cut) throws IOException {
    if (changeLog != null && cut != null) {
      changeLog.forget(cut, dirty);
    }
  }

  /** Reads blocks {@code first..} into {@code into} ({@code length} bytes; the volume's last block may be short). */
  void readBlocks(long first, byte[] into, int length) throws IOException {
    readFully(first * blockSize, into, length);
  }

  /** Bytes of blocks {@code first..last} (the last block of the volume may be short). */
  int rangeLength(long first, long last) {
    return (int) (Math.min(sizeBytes, (last + 1) * blockSize) - first * blockSize);
  }

  public long writesAcknowledged() {
    return writesAcknowledged.get();
  }

  public long writesMirrored() {
    return writesMirrored.get();
  }

  public long writesRefused() {
    return writesRefused.get();
  }

  private void readFully(long offset, byte[] into, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(into, 0, length);
    while (buf.hasRemaining()) {
      int n = file.read(buf, offset + buf.position());
      if (n < 0) {
        throw new IOException("source " + name + " ends before " + (offset + length));
      }
    }
  }

  private void writeFully(long offset, byte[] data) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(data);
    while (buf.hasRemaining()) {
      file.write(buf, offset + buf.position());
    }
  }

  @Override
  public void close() {
    cutOver("the source export of " + name + " is closed");
    writers.shutdown();
    boolean interrupted = false;
    try {
      writers.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      interrupted = true; // the files close anyway, as after the wait's timeout
    }
    // Closed before the interrupt is set again: an interrupted thread's force or close of a file
    // channel throws ClosedByInterruptException.
    if (changeLog != null) {
      changeLog.close();
    }
    try {
      file.close();
    } catch (IOException e) {
      // closing a file we only wrote through forced writes: nothing to recover
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
