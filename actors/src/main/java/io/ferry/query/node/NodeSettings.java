package io.ferry.query.node;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Limits and timings of every logic node, read once from {@code ferry.node} and checked.
 *
 * @param batchRowsMax rows in one pulled batch, and in one source read
 * @param retainRowsMax output rows a node holds for slow consumers before it stops taking input
 * @param pullTimeout how long a node waits for the reply to a pull before it sends the pull again
 * @param longPoll how long an upstream holds a pull it cannot answer yet before it answers empty
 * @param tick how often a node checks its timers (retries, long polls, paced sources)
 * @param snapshotEvery events between snapshots; older events and snapshots are then deleted
 */
public record NodeSettings(
    int batchRowsMax,
    long retainRowsMax,
    Duration pullTimeout,
    Duration longPoll,
    Duration tick,
    int snapshotEvery) {

  public NodeSettings {
    require(batchRowsMax >= 1 && batchRowsMax <= 100_000, "batch-rows-max must be 1..100000, got " + batchRowsMax);
    require(retainRowsMax >= batchRowsMax, "retain-rows-max must be at least batch-rows-max, got " + retainRowsMax);
    require(!longPoll.isNegative() && !longPoll.isZero(), "long-poll must be positive");
    require(pullTimeout.compareTo(longPoll) > 0, "pull-timeout (" + pullTimeout + ") must exceed long-poll (" + longPoll + ")");
    require(!tick.isNegative() && !tick.isZero(), "tick must be positive");
    require(snapshotEvery >= 1, "snapshot-every must be >= 1, got " + snapshotEvery);
  }

  public static NodeSettings from(Config config) {
    Config c = config.getConfig("ferry.node");
    return new NodeSettings(
        c.getInt("batch-rows-max"),
        c.getLong("retain-rows-max"),
        c.getDuration("pull-timeout"),
        c.getDuration("long-poll"),
        c.getDuration("tick"),
        c.getInt("snapshot-every"));
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("ferry.node." + message);
    }
  }
}
