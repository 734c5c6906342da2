package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * No acknowledged task is lost: every task of every job whose submit was acknowledged is known to
 * the queue at the end (whichever replica serves it by then).
 */
public final class TaskLossCheck {
  public static final String NAME = "no-acknowledged-task-lost";
  private static final int EXAMPLES_MAX = 5;

  private TaskLossCheck() {}

  /** @param acknowledged task ids of acknowledged submits; @param known task ids the final queue holds */
  public static RunReport.Verdict check(Set<String> acknowledged, Set<String> known) {
    List<String> lost = new ArrayList<>(new TreeSet<>(acknowledged));
    lost.removeAll(known);
    String detail = lost.isEmpty()
        ? acknowledged.size() + " acknowledged tasks, all known at the end"
        : lost.size() + " of " + acknowledged.size() + " acknowledged tasks lost, e.g. " + lost.subList(0, Math.min(EXAMPLES_MAX, lost.size()));
    return new RunReport.Verdict(NAME, lost.isEmpty(), detail);
  }
}
