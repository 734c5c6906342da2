package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Attempts per pool never exceed a task's retry count: counted from the distinct leases workers
 * received (task, pool, lease epoch), not from the queue's own bookkeeping.
 */
public final class RetryCountCheck {
  public static final String NAME = "attempts-per-pool-within-retry-count";
  private static final int EXAMPLES_MAX = 5;

  /** A lease a worker of {@code pool} received for {@code task}. */
  public record Attempt(String task, String pool, long epoch) {}

  private RetryCountCheck() {}

  /** @param retryCount each task's retry count (attempts a pool may make) */
  public static RunReport.Verdict check(List<Attempt> attempts, Map<String, Integer> retryCount) {
    Map<String, Set<Long>> perTaskPool = new TreeMap<>();
    for (Attempt a : attempts) {
      perTaskPool.computeIfAbsent(a.task() + " on " + a.pool(), k -> new HashSet<>()).add(a.epoch());
    }
    List<String> over = new ArrayList<>();
    for (var e : perTaskPool.entrySet()) {
      String task = e.getKey().substring(0, e.getKey().indexOf(" on "));
      Integer limit = retryCount.get(task);
      if (limit == null) {
        over.add(e.getKey() + ": leased but never submitted");
      } else if (e.getValue().size() > limit) {
        over.add(e.getKey() + ": " + e.getValue().size() + " attempts, retry count " + limit);
      }
    }
    String detail = over.isEmpty()
        ? attempts.size() + " attempts over " + perTaskPool.size() + " task/pool pairs, none above its retry count"
        : over.size() + " task/pool pairs above their retry count, e.g. " + over.subList(0, Math.min(EXAMPLES_MAX, over.size()));
    return new RunReport.Verdict(NAME, over.isEmpty(), detail);
  }
}
