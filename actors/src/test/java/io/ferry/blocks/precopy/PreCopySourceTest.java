package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The source export's own life: what it refuses at open, what it leaves open when it closes. */
class PreCopySourceTest {

  private static final int BLOCK = 4096;

  @TempDir Path dir;

  /** A target whose write waits until the test lets it go: a write stays under way at the source. */
  private static final class StuckSink implements BlockSink {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void write(long offset, byte[] data, int length) throws IOException {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  @Test
  void aCloseWhoseWaitIsInterruptedStillClosesItsFilesAndKeepsTheInterrupt() throws Exception {
    Path img = dir.resolve("source.img");
    Files.write(img, new byte[16 * BLOCK]);
    Path log = dir.resolve("source.dirty");
    PreCopySource src = PreCopySource.logged("v", img, BLOCK, 1, log, false);
    StuckSink sink = new StuckSink();
    src.blockWrites(sink);
    var write = src.write(0, new byte[BLOCK]).toCompletableFuture();
    try {
      assertTrue(sink.entered.await(30, TimeUnit.SECONDS), "the write reached the target");
      assertEquals(1, openDescriptors(img));
      assertEquals(1, openDescriptors(log));
      // A write under way: close waits for the writers, and this thread's interrupt ends that wait.
      Thread.currentThread().interrupt();
      src.close();
      assertTrue(Thread.interrupted(), "the interrupt is set again for the caller");
      assertEquals(0, openDescriptors(img), "the image is closed");
      assertEquals(0, openDescriptors(log), "the change log is closed");
    } finally {
      Thread.interrupted();
      sink.release.countDown();
      write.handle((ok, failure) -> null).get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aVolumeOfMoreBlocksThanTheChangeLogCanMarkIsRefusedAtOpenAndLeavesNothingOpen() throws Exception {
    Path img = dir.resolve("huge.img");
    long size = (DirtyBlockLog.MAX_BLOCKS + 1) * 512; // 1 TiB, sparse: no byte is written
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(size);
    } catch (IOException e) {
      Assumptions.abort("this file system cannot hold a sparse file of " + size + " bytes: " + e.getMessage());
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PreCopySource.logged("v", img, 512, 1, dir.resolve("huge.dirty"), false));
    assertTrue(e.getMessage().contains("larger than the change log supports"), e.getMessage());
    assertTrue(e.getMessage().contains("use blocks of at least 1024 bytes"), e.getMessage());
    assertEquals(0, openDescriptors(img), "the image is closed");
    assertFalse(Files.exists(dir.resolve("huge.dirty")), "no change log was begun");
  }

  /** This process's open descriptors of {@code file} (Linux: /proc/self/fd). */
  static long openDescriptors(Path file) throws IOException {
    Path real = file.toRealPath();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(fd -> {
            try {
              return Files.readSymbolicLink(fd).equals(real);
            } catch (IOException e) {
              return false; // the listing's own descriptor, gone by now
            }
          })
          .count();
    }
  }
}
