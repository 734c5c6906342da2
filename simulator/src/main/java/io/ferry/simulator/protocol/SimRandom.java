package io.ferry.simulator.protocol;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The one source of randomness of a protocol simulation: every fault, delay and choice is drawn
 * from it, in event order, so a seed replays the same run.
 */
public final class SimRandom {
  private final SplittableRandom random;

  public SimRandom(long seed) {
    this.random = new SplittableRandom(seed);
  }

  /** Uniform in [lo, hi], both inclusive. */
  public long between(long lo, long hi) {
    if (hi < lo) {
      throw new IllegalArgumentException("empty range [" + lo + ", " + hi + "]");
    }
    return lo == hi ? lo : random.nextLong(lo, hi + 1);
  }

  /** Uniform in [lo, hi). */
  public double uniform(double lo, double hi) {
    return lo == hi ? lo : lo + random.nextDouble() * (hi - lo);
  }

  public boolean chance(double p) {
    return p > 0 && random.nextDouble() < p;
  }

  /** An exponentially distributed wait with the given mean, at least 1. */
  public long exponential(double mean) {
    return Math.max(1, (long) (-mean * Math.log(1 - random.nextDouble())));
  }

  public <T> T pick(List<T> items) {
    return items.get(random.nextInt(items.size()));
  }
}
