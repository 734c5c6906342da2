package io.ferry.blocks.plan;

import java.util.Random;

/** Seeds for randomized tests: from -Dferry.seed to replay a failure, else fresh; printed so a failure can be replayed. */
final class Seeds {
  private Seeds() {}

  static long seed(String test) {
    String s = System.getProperty("ferry.seed");
    long seed = s != null ? Long.parseLong(s) : new Random().nextLong();
    System.out.println(test + " seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    return seed;
  }
}
