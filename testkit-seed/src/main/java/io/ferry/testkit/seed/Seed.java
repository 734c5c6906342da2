package io.ferry.testkit.seed;

import java.util.Random;

/**
 * The seed of one randomized test, handed out by {@link SeedExtension}: draw every random number
 * of the test from it, so that {@code -Dferry.seed=} replays the run that failed.
 */
public record Seed(long value) {

  /** A fresh generator from this seed; call once per independent stream of random numbers. */
  public Random random() {
    return new Random(value);
  }

  /** The JVM option that replays this seed, e.g. {@code -Dferry.seed=42}. */
  public String replayOption() {
    return "-D" + SeedExtension.PROPERTY + "=" + value;
  }

  @Override
  public String toString() {
    return "seed " + value;
  }
}
