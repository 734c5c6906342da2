package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * No logic node ever runs as two live instances at once (two writers of one journal, two servers
 * of one output log). Takes each instance's [start, stop) interval; a moved node's next instance
 * may start at the very moment the previous one stopped.
 */
public final class SingleOwnerCheck {
  public static final String NAME = "single-owner";
  private static final int EXAMPLES_MAX = 5;

  /** One instance of {@code node} ran in [startMicros, stopMicros); {@code Long.MAX_VALUE} while running. */
  public record Interval(String node, String instance, long startMicros, long stopMicros) {
    public Interval {
      if (stopMicros < startMicros) {
        throw new IllegalArgumentException("instance " + instance + " stops at " + stopMicros + " before it starts at " + startMicros);
      }
    }
  }

  private SingleOwnerCheck() {}

  /** Pairs of instances of one node whose intervals overlap. */
  public static List<String> overlaps(List<Interval> intervals) {
    Map<String, List<Interval>> byNode = new TreeMap<>();
    intervals.forEach(i -> byNode.computeIfAbsent(i.node(), k -> new ArrayList<>()).add(i));
    List<String> found = new ArrayList<>();
    for (List<Interval> list : byNode.values()) {
      list.sort(Comparator.comparingLong(Interval::startMicros).thenComparingLong(Interval::stopMicros));
      for (int i = 0; i < list.size(); i++) {
        for (int j = i + 1; j < list.size() && list.get(j).startMicros() < list.get(i).stopMicros(); j++) {
          found.add(list.get(i).instance() + " [" + list.get(i).startMicros() + ", " + list.get(i).stopMicros() + ") overlaps "
              + list.get(j).instance() + " [" + list.get(j).startMicros() + ", " + list.get(j).stopMicros() + ")");
        }
      }
    }
    return found;
  }

  public static RunReport.Verdict check(List<Interval> intervals) {
    List<String> found = overlaps(intervals);
    String detail = found.isEmpty()
        ? intervals.size() + " instances, no overlap"
        : found.size() + " overlapping pairs, e.g. " + found.subList(0, Math.min(EXAMPLES_MAX, found.size()));
    return new RunReport.Verdict(NAME, found.isEmpty(), detail);
  }
}
