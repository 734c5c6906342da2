package io.ferry.transport.shaping;

import java.util.Random;

/**
 * When a {@link LinkEmulator} delivers a datagram, or that it drops it: the loss draw, the one-way
 * delay, the forward link's serialization and its tail-drop queue. Apart from sockets and threads and
 * given the time, so tests check it exactly on a made-up clock. Owned by the emulator's receive
 * thread; not thread-safe.
 */
final class LinkShaper {
  /** {@link #deliverAtNanos}'s answer for a datagram that is lost or tail-dropped. */
  static final long DROPPED = Long.MIN_VALUE;

  private final Random random;
  /** When the forward link has sent everything queued so far (virtual, on the caller's clock). */
  private long forwardFreeAtNanos = Long.MIN_VALUE;

  LinkShaper(long seed) {
    this.random = new Random(seed);
  }

  /**
   * The time a datagram of {@code bytes} arriving at {@code nowNanos} leaves the emulator, or {@link
   * #DROPPED}. Forward datagrams queue for the link's bandwidth; replies ({@code forward} false)
   * only get the delay and the loss.
   */
  long deliverAtNanos(LinkProfile p, int bytes, boolean forward, long nowNanos) {
    if (p.lossRate() > 0 && random.nextDouble() < p.lossRate()) {
      return DROPPED;
    }
    long delay = p.oneWayDelay().toNanos();
    if (!forward || p.bandwidthBitsPerSecond() <= 0) {
      return nowNanos + delay;
    }
    double nanosPerByte = 8e9 / p.bandwidthBitsPerSecond();
    long freeAt = Math.max(nowNanos, forwardFreeAtNanos);
    long backlogBytes = (long) ((freeAt - nowNanos) / nanosPerByte);
    if (p.queueLimitBytes() > 0 && backlogBytes + bytes > p.queueLimitBytes()) {
      return DROPPED;
    }
    forwardFreeAtNanos = freeAt + (long) (bytes * nanosPerByte);
    return forwardFreeAtNanos + delay;
  }
}
