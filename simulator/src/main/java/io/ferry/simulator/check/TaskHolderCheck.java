package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * No task is held by two pools at once: the intervals in which workers actually ran a task (from
 * receiving its lease to stopping, finishing or crashing) never overlap. Stronger than asking the
 * queue, which cannot see a worker that runs on behind a partition.
 */
public final class TaskHolderCheck {
  public static final String NAME = "one-holder-per-task";
  private static final int EXAMPLES_MAX = 5;

  /** {@code holder} (pool/worker#incarnation) ran {@code task} under lease {@code epoch} in [startMillis, stopMillis). */
  public record Run(String task, String pool, String holder, long epoch, long startMillis, long stopMillis) {
    public Run {
      if (stopMillis < startMillis) {
        throw new IllegalArgumentException("run of " + task + " by " + holder + " stops at " + stopMillis + " before it starts at " + startMillis);
      }
    }
  }

  private TaskHolderCheck() {}

  public static List<String> overlaps(List<Run> runs) {
    Map<String, List<Run>> byTask = new TreeMap<>();
    runs.forEach(r -> byTask.computeIfAbsent(r.task(), k -> new ArrayList<>()).add(r));
    List<String> found = new ArrayList<>();
    for (List<Run> list : byTask.values()) {
      list.sort(Comparator.comparingLong(Run::startMillis).thenComparingLong(Run::stopMillis));
      for (int i = 0; i < list.size(); i++) {
        for (int j = i + 1; j < list.size() && list.get(j).startMillis() < list.get(i).stopMillis(); j++) {
          Run a = list.get(i);
          Run b = list.get(j);
          found.add(a.task() + ": " + a.holder() + " (lease " + a.epoch() + ") [" + a.startMillis() + ", " + a.stopMillis() + ") overlaps "
              + b.holder() + " (lease " + b.epoch() + ") [" + b.startMillis() + ", " + b.stopMillis() + ")");
        }
      }
    }
    return found;
  }

  public static RunReport.Verdict check(List<Run> runs) {
    List<String> found = overlaps(runs);
    String detail = found.isEmpty()
        ? runs.size() + " runs, none overlapping"
        : found.size() + " overlapping runs, e.g. " + found.subList(0, Math.min(EXAMPLES_MAX, found.size()));
    return new RunReport.Verdict(NAME, found.isEmpty(), detail);
  }
}
