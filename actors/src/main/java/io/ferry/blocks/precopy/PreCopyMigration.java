package io.ferry.blocks.precopy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pre-copy (warm) migration of one volume whose workload keeps running at the source through
 * {@link PreCopySource}: the first full copy, then, once cut-over is asked for, passes over the
 * change set as {@link PreCopyConvergence} decides, the final one with writes held (the pause),
 * and the cut-over. A shell around plain threads: the decisions are {@link PreCopyConvergence}'s.
 */
public final class PreCopyMigration implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PreCopyMigration.class);

  /**
   * @param convergence when passes end and writes block
   * @param runBlocksMax blocks one write to the target carries at most (contiguous ones are joined)
   * @param parallelism writes to the target in flight at once (fill a long link)
   * @param holdTimeout how long the cut-over waits for writes under way before it gives up
   * @param targetStartsZeroed the target reads zeroes where nothing was written: zero blocks of the first copy are skipped
   */
  public record Settings(PreCopyConvergence.Settings convergence, int runBlocksMax, int parallelism, Duration holdTimeout, boolean targetStartsZeroed) {
    public Settings {
      if (runBlocksMax < 1 || runBlocksMax > BlockLocks.RANGE_BLOCKS_MAX) {
        throw new IllegalArgumentException("run of 1.." + BlockLocks.RANGE_BLOCKS_MAX + " blocks, got " + runBlocksMax);
      }
      if (parallelism < 1 || parallelism > NbdBlockSink.CONNECTIONS_MAX) {
        throw new IllegalArgumentException("parallelism 1.." + NbdBlockSink.CONNECTIONS_MAX + ", got " + parallelism);
      }
    }
  }

  public enum Phase {
    COPYING,
    /** The full copy is done; the workload runs at the source, its writes tracked. */
    COPIED,
    CONVERGING,
    CUT_OVER,
    /** The target could not be written; the source stays the primary, writes go on there. */
    FAILED
  }

  /** What {@code ferry volume status} shows of a pre-copy migration. */
  public record Status(
      Phase phase,
      PreCopyConvergence.Mode mode,
      String modeReason,
      List<PreCopyConvergence.PassRecord> passes,
      long changedBlocksNow,
      long pauseNanos,
      long blocksSent,
      long bytesSent,
      long writesAcknowledged,
      long writesMirrored,
      long writesRefused,
      String error) {}

  private final PreCopySource source;
  private final BlockSink target;
  private final Settings settings;
  private final PreCopyConvergence convergence;
  private final ExecutorService senders;
  private final Thread runner;
  private final CountDownLatch cutOverAsked = new CountDownLatch(1);
  private final CountDownLatch ended = new CountDownLatch(1);
  private final AtomicLong blocksSent = new AtomicLong();
  private final AtomicLong bytesSent = new AtomicLong();

  // Guarded by `this`.
  private Phase phase = Phase.COPYING;
  private long pauseNanos = -1;
  private String error = "";

  /** Whether this migration runs the first full copy itself (or another copy filled the target). */
  private final boolean fullCopy;

  private PreCopyMigration(PreCopySource source, BlockSink target, Settings settings, boolean fullCopy) {
    this.fullCopy = fullCopy;
    this.source = source;
    this.target = target;
    this.settings = settings;
    this.convergence = new PreCopyConvergence(settings.convergence());
    this.senders = Executors.newFixedThreadPool(settings.parallelism(), r -> {
      Thread t = new Thread(r, "ferry-precopy-send-" + source.name());
      t.setDaemon(true);
      return t;
    });
    this.runner = new Thread(this::run, "ferry-precopy-" + source.name());
    runner.setDaemon(true);
  }

  /** Starts the first full copy at once; passes begin on {@link #requestCutOver()}. */
  public static PreCopyMigration start(PreCopySource source, BlockSink target, Settings settings) {
    PreCopyMigration m = new PreCopyMigration(source, target, settings, true);
    m.runner.start();
    return m;
  }

  /**
   * Starts COPIED: another copy (the volume's background copy, hosted by the shells) already
   * filled the target with every block, each read after {@code source} started tracking writes, so
   * the change set is exactly what the target may lack. Passes begin on {@link #requestCutOver()}.
   */
  public static PreCopyMigration startCopied(PreCopySource source, BlockSink target, Settings settings) {
    PreCopyMigration m = new PreCopyMigration(source, target, settings, false);
    synchronized (m) {
      m.phase = Phase.COPIED;
    }
    m.runner.start();
    return m;
  }

  /** Converge and cut over (the user's {@code cutover}); passes start once the full copy is done. */
  public void requestCutOver() {
    cutOverAsked.countDown();
  }

  /** Waits until the migration cut over or failed; returns whether it ended within the time. */
  public boolean awaitEnd(Duration timeout) throws InterruptedException {
    return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  public synchronized Phase phase() {
    return phase;
  }

  public Status status() {
    synchronized (this) {
      synchronized (convergence) {
        return new Status(phase, convergence.mode(), convergence.modeReason(), convergence.passes(), source.dirty().count(), pauseNanos,
            blocksSent.get(), bytesSent.get(), source.writesAcknowledged(), source.writesMirrored(), source.writesRefused(), error);
      }
    }
  }

  /**
   * The change set of the pass under way until the target has flushed it: its marks were cleared
   * when it was read, so passes that end without that flush put them back (the target may have
   * lost what it acknowledged, or its sink may be gone with what it held).
   */
  private volatile long[] unflushed = new long[0];

  /** Set by {@link #close}; from then on the passes never cut over (guarded by this). */
  private boolean closed;

  private void run() {
    try {
      long t0 = System.nanoTime();
      if (fullCopy) {
        long[] all = new long[(int) source.blockCount()];
        for (int i = 0; i < all.length; i++) {
          all[i] = i;
        }
        copy(all, settings.targetStartsZeroed());
      }
      long copyNanos = System.nanoTime() - t0;
      setPhase(Phase.COPIED);
      log.info("volume={} copied in {} ms; the workload runs at the source, {} blocks changed since", source.name(),
          TimeUnit.NANOSECONDS.toMillis(copyNanos), source.dirty().count());
      cutOverAsked.await();
      PreCopyConvergence.Step step;
      synchronized (convergence) {
        // The first change set is what was written up to now, not up to the end of the copy.
        step = convergence.copied(source.dirty().count(), copyNanos);
      }
      setPhase(Phase.CONVERGING);
      while (step instanceof PreCopyConvergence.RunPass next) {
        PreCopyConvergence.RunPass p = next;
        long start = System.nanoTime();
        if (p.writeBlocking() && !source.writeBlocking()) {
          log.info("volume={} write-blocking from pass {}: {}", source.name(), p.pass(), convergence.modeReason());
          source.blockWrites(target);
        }
        if (p.holdWrites()) {
          source.holdWrites(settings.holdTimeout().toNanos());
        }
        long[] changeSet = source.dirty().snapshot();
        if (p.holdWrites() && !p.writeBlocking() && changeSet.length > settings.convergence().thresholdBlocks()) {
          source.releaseWrites();
          synchronized (convergence) {
            p = convergence.holdDeclined(changeSet.length);
          }
          log.info("volume={} pass {}: {} blocks changed before the writes were held (threshold {}): an ordinary pass instead of the cut-over",
              source.name(), p.pass(), changeSet.length, settings.convergence().thresholdBlocks());
        }
        unflushed = changeSet;
        copy(changeSet, false);
        if (p.holdWrites()) {
          target.flush();
          synchronized (this) {
            // Stopped passes may still be running (close waits a bounded time): they must not cut
            // over into a sink whose frontend a new one replaced.
            if (closed) {
              throw new IOException("the passes were stopped before their cut-over");
            }
            source.cutOver("volume " + source.name() + " cut over: the target is the primary, go on writing there");
          }
          unflushed = new long[0];
          synchronized (this) {
            pauseNanos = System.nanoTime() - start;
          }
        }
        if (!p.holdWrites()) {
          // Each pass is made durable before the next decision, so the final pass's flush (inside
          // the pause) covers only its own blocks; then the shipped blocks leave the change log.
          DirtyBlockLog.Cut cut = source.beforeTargetFlush();
          target.flush();
          unflushed = new long[0];
          source.targetFlushed(cut);
        }
        long nanos = System.nanoTime() - start;
        log.info("volume={} pass {} shipped {} blocks in {} ms{}{}", source.name(), p.pass(), changeSet.length, TimeUnit.NANOSECONDS.toMillis(nanos),
            p.writeBlocking() ? " (write-blocking)" : "", p.holdWrites() ? " with writes held: cut over" : "");
        synchronized (convergence) {
          step = convergence.passDone(p.pass(), changeSet.length, source.dirty().count(), nanos);
        }
      }
      setPhase(Phase.CUT_OVER);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail("interrupted");
    } catch (IOException | RuntimeException e) {
      fail(e.toString());
    } finally {
      ended.countDown();
    }
  }

  private void fail(String why) {
    log.error("volume={} pre-copy failed, the source stays the primary: {}", source.name(), why);
    for (long block : unflushed) {
      source.dirty().restore(block, block);
    }
    unflushed = new long[0];
    synchronized (this) {
      phase = Phase.FAILED;
      error = why;
    }
    source.blockWrites(null); // the target is unreachable: writes go on at the source, tracked
    source.releaseWrites();
  }

  private synchronized void setPhase(Phase p) {
    phase = p;
  }

  /**
   * Copies {@code blocks} (ascending) to the target in runs of contiguous blocks, {@code
   * parallelism} runs at once, each run's blocks held from reading to the target's answer.
   */
  private void copy(long[] blocks, boolean skipZero) throws IOException, InterruptedException {
    List<Future<?>> inFlight = new ArrayList<>();
    try {
      int i = 0;
      while (i < blocks.length) {
        int j = i;
        while (j + 1 < blocks.length && blocks[j + 1] == blocks[j] + 1 && j + 1 - i < settings.runBlocksMax()) {
          j++;
        }
        long first = blocks[i];
        long last = blocks[j];
        inFlight.add(senders.submit(() -> {
          sendRun(first, last, skipZero);
          return null;
        }));
        // Bound what is queued: a volume's worth of runs is never held at once.
        if (inFlight.size() >= settings.parallelism() * 4) {
          await(inFlight.remove(0));
        }
        i = j + 1;
      }
      while (!inFlight.isEmpty()) {
        await(inFlight.remove(0));
      }
    } catch (IOException | RuntimeException e) {
      // Let the runs under way end (each marks its blocks again if it did not reach the target),
      // so the change set is whole when the failure is reported.
      for (Future<?> f : inFlight) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException ignored) {
          // the first failure is the one reported
        }
      }
      throw e;
    }
  }


  private void sendRun(long first, long last, boolean skipZero) throws IOException, InterruptedException {
    BlockLocks locks = source.locks();
    locks.acquire(first, last);
    boolean sent = false;
    try {
      for (long b = first; b <= last; b++) {
        source.dirty().clear(b); // before reading: a write after this marks it again
      }
      int length = source.rangeLength(first, last);
      byte[] data = new byte[length];
      source.readBlocks(first, data, length);
      if (!skipZero) {
        target.write(first * source.blockSize(), data, length);
        blocksSent.addAndGet(last - first + 1);
        bytesSent.addAndGet(length);
        sent = true;
        return;
      }
      // The target reads zeroes where nothing was written: only the stretches holding data go.
      int bs = source.blockSize();
      int from = -1;
      for (int at = 0; ; at += bs) {
        boolean end = at >= length; // the volume's last block may be short
        boolean zero = end || isZero(data, at, Math.min(bs, length - at));
        if (!zero && from < 0) {
          from = at;
        } else if (zero && from >= 0) {
          int to = Math.min(at, length);
          byte[] part = java.util.Arrays.copyOfRange(data, from, to);
          target.write(first * bs + from, part, part.length);
          blocksSent.addAndGet((to - from + bs - 1) / bs);
          bytesSent.addAndGet(part.length);
          from = -1;
        }
        if (end) {
          sent = true;
          return;
        }
      }
    } finally {
      if (!sent) {
        // The marks were cleared before reading: put them back, so the source keeps every block
        // the target may lack and a later cut-over ships them (the source stays the primary).
        source.dirty().restore(first, last);
      }
      locks.release(first, last);
    }
  }

  private static boolean isZero(byte[] data, int from, int length) {
    for (int i = from; i < from + length; i++) {
      if (data[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static void await(Future<?> f) throws IOException, InterruptedException {
    try {
      f.get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException("copying to the target failed: " + e.getCause(), e.getCause());
    }
  }

  /** Stops the passes: after this they never cut over; a cut-over that came first stands. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    runner.interrupt();
    senders.shutdownNow();
    try {
      runner.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
