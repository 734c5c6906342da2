package io.ferry.blocks.precopy;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * A sink whose writes keep to a byte rate: the passes and, once write-blocking, the workload's
 * mirrored writes use at most the share of the inter-site link the operator gives the pre-copy
 * ({@code ferry.blocks.pre-copy.max-bytes-per-second}), as a link that slow would carry them. Each
 * write takes the next slot of {@code length / rate} seconds (no burst); thread-safe.
 */
final class PacedBlockSink implements BlockSink {

  private final BlockSink inner;
  private final long bytesPerSecond;
  // Guarded by `this`.
  private long nextFreeNanos = System.nanoTime();

  PacedBlockSink(BlockSink inner, long bytesPerSecond) {
    if (bytesPerSecond < 1) {
      throw new IllegalArgumentException("a rate of at least 1 byte per second, got " + bytesPerSecond);
    }
    this.inner = inner;
    this.bytesPerSecond = bytesPerSecond;
  }

  @Override
  public void write(long offset, byte[] data, int length) throws IOException {
    long waitNanos;
    synchronized (this) {
      long now = System.nanoTime();
      long start = Math.max(now, nextFreeNanos);
      nextFreeNanos = start + length * 1_000_000_000L / bytesPerSecond;
      waitNanos = start - now;
    }
    if (waitNanos > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(waitNanos);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted waiting for the link", e);
      }
    }
    inner.write(offset, data, length);
  }

  @Override
  public void flush() throws IOException {
    inner.flush();
  }

  @Override
  public void close() {
    inner.close();
  }
}
