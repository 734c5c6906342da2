package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every executed move has a reason: each node of each move the manager started was announced by
 * an {@code executed} decision naming the same target, with a reason that is not blank.
 */
public final class MoveReasonCheck {
  public static final String NAME = "move-reasons";
  private static final int EXAMPLES_MAX = 5;

  private final Map<String, String> announced = new HashMap<>();
  private final List<String> found = new ArrayList<>();
  private long moves;

  /** An executed decision about {@code node} (query/node) to {@code to}. */
  public void executed(String node, String to, String reason) {
    if (reason != null && !reason.isBlank()) {
      announced.put(node, to);
    }
  }

  /** A move of {@code node} to {@code to} started; its decision must have come first. */
  public void moveStarted(long atMillis, String node, String to) {
    moves++;
    String said = announced.remove(node);
    if (!to.equals(said)) {
      found.add(node + " moved to " + to + " at " + atMillis + " ms without an executed decision with a reason"
          + (said == null ? "" : " (the decision named " + said + ")"));
    }
  }

  public RunReport.Verdict verdict() {
    String detail = found.isEmpty()
        ? moves + " node moves, each with its reason"
        : found.size() + " moves without a reason, e.g. " + found.subList(0, Math.min(EXAMPLES_MAX, found.size()));
    return new RunReport.Verdict(NAME, found.isEmpty(), detail);
  }
}
