package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-copy migration over a real source file and its export's write path, to a target in
 * memory: writers run during the copy and the passes; after the cut-over the target equals every
 * acknowledged write.
 */
@ExtendWith(SeedExtension.class)
class PreCopyMigrationTest {

  private static final int BLOCK = 4096;
  private static final int BLOCKS = 256;

  @TempDir Path dir;

  /** The target's copy in memory; {@code onWrite} runs after each write (the test's workload hook). */
  static final class MemorySink implements BlockSink {
    final byte[] bytes;
    volatile Runnable onWrite = () -> {};
    volatile boolean broken;
    /** Writes are taken, the flush that would make them durable fails (the target's member died before it). */
    volatile boolean flushFails;
    /** When set, a flush waits for it, interrupts or not (an NBD flush stuck on its socket). */
    volatile java.util.concurrent.CountDownLatch flushGate;
    final AtomicInteger writes = new AtomicInteger();

    MemorySink(int size) {
      bytes = new byte[size];
    }

    @Override
    public void write(long offset, byte[] data, int length) throws IOException {
      if (broken) {
        throw new IOException("target unreachable");
      }
      synchronized (this) {
        System.arraycopy(data, 0, bytes, (int) offset, length);
      }
      writes.incrementAndGet();
      onWrite.run();
    }

    @Override
    public void flush() throws IOException {
      if (flushFails) {
        throw new IOException("target gone before its flush");
      }
      java.util.concurrent.CountDownLatch gate = flushGate;
      boolean interrupted = false;
      while (gate != null) {
        try {
          gate.await();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() {}

    synchronized byte[] snapshot() {
      return bytes.clone();
    }
  }

  private Path image(Random r) throws IOException {
    byte[] b = new byte[BLOCK * BLOCKS];
    for (int i = 0; i < BLOCKS; i += 2) { // half the blocks hold data, half are zero
      byte[] block = new byte[BLOCK];
      r.nextBytes(block);
      System.arraycopy(block, 0, b, i * BLOCK, BLOCK);
    }
    Path p = dir.resolve("source.img");
    Files.write(p, b);
    return p;
  }

  /** A target another copy already filled with the image (the hosted background copy): pre-copy starts COPIED. */
  private static MemorySink copiedTarget(Path img) throws IOException {
    MemorySink target = new MemorySink(BLOCK * BLOCKS);
    System.arraycopy(Files.readAllBytes(img), 0, target.bytes, 0, BLOCK * BLOCKS);
    return target;
  }

  private static PreCopyMigration.Settings settings(long threshold, int maxPasses) {
    return new PreCopyMigration.Settings(new PreCopyConvergence.Settings(threshold, maxPasses), 4, 3, Duration.ofSeconds(30), true);
  }

  @Test
  void writesDuringTheCopyAndThePassesAllReachTheTarget(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    byte[] expected = Files.readAllBytes(img);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 4)) {
      MemorySink target = new MemorySink(BLOCK * BLOCKS);
      PreCopyMigration m = PreCopyMigration.start(source, target, settings(8, 10));
      AtomicBoolean refused = new AtomicBoolean();
      int acknowledged = 0;
      boolean asked = false;
      // One writer, each write acknowledged before the next: the expected image follows in order.
      while (!refused.get()) {
        int length = 1 + r.nextInt(2 * BLOCK);
        long offset = r.nextInt(BLOCK * BLOCKS - length);
        byte[] data = new byte[length];
        r.nextBytes(data);
        try {
          source.write(offset, data).toCompletableFuture().get();
          System.arraycopy(data, 0, expected, (int) offset, length);
          acknowledged++;
        } catch (ExecutionException e) {
          refused.set(true);
        }
        if (!asked && m.phase() == PreCopyMigration.Phase.COPIED && acknowledged > 50) {
          m.requestCutOver();
          asked = true;
        }
      }
      assertTrue(m.awaitEnd(Duration.ofSeconds(60)));
      PreCopyMigration.Status st = m.status();
      assertEquals(PreCopyMigration.Phase.CUT_OVER, st.phase(), st.toString());
      assertArrayEquals(expected, target.snapshot(), "target after the cut-over vs every acknowledged write");
      assertArrayEquals(expected, Files.readAllBytes(img), "the source holds exactly the acknowledged writes");
      assertTrue(st.pauseNanos() > 0);
      assertTrue(st.passes().get(st.passes().size() - 1).holdWrites());
      assertTrue(st.passes().get(st.passes().size() - 1).changedBlocks() <= 8);
      assertEquals(acknowledged, st.writesAcknowledged());
      // After the cut-over the source refuses: the target is the primary.
      assertThrows(ExecutionException.class, () -> source.write(0, new byte[1]).toCompletableFuture().get());
      m.close();
    }
  }

  @Test
  void writesFasterThanTheLinkSwitchToWriteBlockingAndStillConverge(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 4)) {
      MemorySink target = new MemorySink(BLOCK * BLOCKS);
      PreCopyMigration m = PreCopyMigration.start(source, target, settings(2, 10));
      awaitPhase(m, PreCopyMigration.Phase.COPIED);
      // Every run the target takes, the workload writes three blocks elsewhere: writes outpace the
      // link, deterministically. Under write-blocking they wait for the target instead.
      AtomicInteger next = new AtomicInteger();
      AtomicInteger written = new AtomicInteger();
      AtomicReference<Thread> workload = new AtomicReference<>();
      target.onWrite = () -> {
        if (Thread.currentThread() == workload.get()) {
          return; // the workload's own write, mirrored under write-blocking
        }
        if (source.writeBlocking() && !source.writesHeld()) {
          // A pass under write-blocking waits (at most 2 s) for the workload's first mirrored write:
          // on a fast machine the pass ended before the workload's thread wrote at all.
          long until = System.nanoTime() + 2_000_000_000L;
          while (source.writesMirrored() == 0 && System.nanoTime() < until) {
            LockSupport.parkNanos(1_000_000);
          }
          return;
        }
        // Never while writes are held (the final pass): this hook runs on the pass's own thread.
        if (!source.writeBlocking() && !source.writesHeld() && written.get() < 3000) {
          for (int i = 0; i < 3; i++) {
            long b = (next.getAndAdd(37)) % BLOCKS;
            byte[] data = new byte[BLOCK];
            Arrays.fill(data, (byte) (1 + written.getAndIncrement() % 250));
            source.write(b * BLOCK, data).toCompletableFuture().join();
          }
        }
      };
      for (int b = 0; b < 10; b++) {
        source.write(b * 20L * BLOCK, new byte[] {9}).toCompletableFuture().get(); // a first change set above the threshold
      }
      m.requestCutOver();
      // Writes go on under write-blocking until the final pass refuses them.
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; ; i++) {
            byte[] data = new byte[BLOCK];
            Arrays.fill(data, (byte) i);
            source.write((long) (i % BLOCKS) * BLOCK, data).toCompletableFuture().join();
          }
        } catch (CompletionException e) {
          // refused at the cut-over
        }
      });
      workload.set(writer);
      writer.start();
      assertTrue(m.awaitEnd(Duration.ofSeconds(60)));
      writer.join(10_000);
      PreCopyMigration.Status st = m.status();
      assertEquals(PreCopyMigration.Phase.CUT_OVER, st.phase(), st.toString());
      assertEquals(PreCopyConvergence.Mode.WRITE_BLOCKING, st.mode(), st.toString());
      assertTrue(st.modeReason().contains("writes outpace the link"), st.modeReason());
      assertTrue(st.writesMirrored() > 0, st.toString());
      assertArrayEquals(Files.readAllBytes(img), target.snapshot(), "target after the cut-over vs the source");
      m.close();
    }
  }

  @Test
  void anUnreachableTargetFailsTheMigrationAndTheSourceGoesOn(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 2)) {
      MemorySink target = new MemorySink(BLOCK * BLOCKS);
      PreCopyMigration m = PreCopyMigration.start(source, target, settings(1000, 10));
      awaitPhase(m, PreCopyMigration.Phase.COPIED);
      source.write(5 * BLOCK, new byte[] {1, 2, 3}).toCompletableFuture().get();
      target.broken = true;
      m.requestCutOver(); // the final pass (1 block <= 1000) holds writes, then fails
      assertTrue(m.awaitEnd(Duration.ofSeconds(30)));
      assertEquals(PreCopyMigration.Phase.FAILED, m.phase());
      assertTrue(m.status().error().contains("target unreachable"), m.status().error());
      // Held writes were released: the source is still the primary.
      source.write(6 * BLOCK, new byte[] {4}).toCompletableFuture().get();
      assertTrue(source.dirty().isDirty(6));
      m.close();
    }
  }

  @Test
  void aPassThatBreaksOffKeepsItsBlocksInTheChangeSetAndAnotherMigrationShipsThem(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 2)) {
      MemorySink target = copiedTarget(img);
      PreCopyMigration m = PreCopyMigration.startCopied(source, target, settings(1000, 10));
      assertEquals(PreCopyMigration.Phase.COPIED, m.phase());
      source.write(5 * BLOCK, new byte[] {1, 2, 3}).toCompletableFuture().get();
      source.write(9 * BLOCK + 7, new byte[] {4}).toCompletableFuture().get();
      target.broken = true;
      m.requestCutOver();
      assertTrue(m.awaitEnd(Duration.ofSeconds(30)));
      assertEquals(PreCopyMigration.Phase.FAILED, m.phase());
      assertEquals(0, target.writes.get(), "nothing reached the target: the first copy was not run again");
      // The pass cleared the marks before reading; they are back, so nothing the target lacks is forgotten.
      assertTrue(source.dirty().isDirty(5) && source.dirty().isDirty(9), "blocks of the broken pass are still marked");
      assertEquals(2, source.dirty().count());
      m.close();
      target.broken = false;
      PreCopyMigration retry = PreCopyMigration.startCopied(source, target, settings(1000, 10));
      retry.requestCutOver();
      assertTrue(retry.awaitEnd(Duration.ofSeconds(30)));
      assertEquals(PreCopyMigration.Phase.CUT_OVER, retry.phase(), retry.status().toString());
      assertArrayEquals(Files.readAllBytes(img), target.snapshot(), "the target after the retried cut-over vs the source");
      assertEquals(2, retry.status().blocksSent(), "only the change set crossed");
      retry.close();
    }
  }

  /** The review of stop 26 found it: blocks a pass had sent were unmarked for good when the target's flush never came. */
  @Test
  void aPassWhoseTargetNeverFlushedKeepsItsBlocksInTheChangeSet(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 2)) {
      MemorySink target = copiedTarget(img);
      PreCopyMigration m = PreCopyMigration.startCopied(source, target, settings(0, 10));
      for (int b : new int[] {3, 11, 12}) {
        source.write((long) b * BLOCK, new byte[] {7}).toCompletableFuture().get();
      }
      target.flushFails = true;
      m.requestCutOver();
      assertTrue(m.awaitEnd(Duration.ofSeconds(30)));
      assertEquals(PreCopyMigration.Phase.FAILED, m.phase());
      assertEquals(2, target.writes.get(), "the pass sent its blocks (two runs: 3, and 11-12); only the flush failed");
      assertTrue(source.dirty().isDirty(3) && source.dirty().isDirty(11) && source.dirty().isDirty(12), "sent, never flushed: still marked");
      assertEquals(3, source.dirty().count());
      m.close();
    }
  }

  /** The review of stop 26 found it: passes stopped inside their final flush went on to cut over. */
  @Test
  void passesStoppedDuringTheirFinalFlushNeverCutOver(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 2)) {
      MemorySink target = copiedTarget(img);
      PreCopyMigration m = PreCopyMigration.startCopied(source, target, settings(1000, 10));
      source.write(4 * BLOCK, new byte[] {9}).toCompletableFuture().get();
      java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
      target.flushGate = gate;
      m.requestCutOver(); // one block changed, under the threshold: the final pass, its flush held
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (target.writes.get() == 0) {
        assertTrue(System.nanoTime() < deadline, "the final pass never wrote");
        Thread.sleep(5);
      }
      Thread closer = new Thread(m::close);
      closer.start();
      while (closer.getState() != Thread.State.TIMED_WAITING && closer.isAlive()) {
        Thread.sleep(1); // close has marked the passes stopped and waits for them
      }
      gate.countDown();
      closer.join();
      assertTrue(m.awaitEnd(Duration.ofSeconds(30)));
      assertEquals(PreCopyMigration.Phase.FAILED, m.phase(), m.status().toString());
      source.write(5 * BLOCK, new byte[] {1}).toCompletableFuture().get(); // still the primary: writes go on here
      assertTrue(source.dirty().isDirty(4), "the unflushed block is marked again");
    }
  }

  @Test
  void aFullRecopyAfterASourceRestartShipsEveryBlock(Seed seed) throws Exception {
    Random r = seed.random();
    Path img = image(r);
    try (PreCopySource source = new PreCopySource("vol", img, BLOCK, 2)) {
      MemorySink target = new MemorySink(BLOCK * BLOCKS); // stale everywhere: what a lost change set may mean
      source.dirty().markAll();
      assertEquals(BLOCKS, source.dirty().count());
      PreCopyMigration m = PreCopyMigration.startCopied(source, target, settings(8, 10));
      m.requestCutOver();
      assertTrue(m.awaitEnd(Duration.ofSeconds(30)));
      assertEquals(PreCopyMigration.Phase.CUT_OVER, m.phase(), m.status().toString());
      assertEquals(BLOCKS, m.status().passes().get(1).changedBlocks());
      assertArrayEquals(Files.readAllBytes(img), target.snapshot());
      m.close();
    }
  }

  private static void awaitPhase(PreCopyMigration m, PreCopyMigration.Phase phase) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (m.phase() != phase) {
      assertTrue(System.nanoTime() < deadline, "not " + phase + ": " + m.status());
      Thread.sleep(5);
    }
  }
}
