package io.ferry.runtime.internal;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * One deadline for an API call made of asks in sequence ({@code Ferry.status}, {@code
 * Ferry.volumeStatus}): each ask gets what is left of it, so the whole call ends within the ask
 * timeout, and before the management endpoint's request timeout cuts it off.
 */
public final class Deadline {
  /** An ask needs a positive timeout; one started at or after the deadline gets this and fails at once. */
  static final Duration REMAINING_MIN = Duration.ofMillis(1);

  private final LongSupplier nanoClock;
  private final long endNanos;

  Deadline(LongSupplier nanoClock, Duration within) {
    if (within.isZero() || within.isNegative()) {
      throw new IllegalArgumentException("a deadline must be in the future, got " + within);
    }
    this.nanoClock = nanoClock;
    this.endNanos = nanoClock.getAsLong() + within.toNanos();
  }

  /** A deadline {@code within} from now. */
  public static Deadline in(Duration within) {
    return new Deadline(System::nanoTime, within);
  }

  /** The time left, at least {@link #REMAINING_MIN}: the timeout for the next ask. */
  public Duration remaining() {
    long left = endNanos - nanoClock.getAsLong();
    return left < REMAINING_MIN.toNanos() ? REMAINING_MIN : Duration.ofNanos(left);
  }
}
