package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * No node is moved twice within its cool-down, unless the second move was forced by a broken hard
 * limit (capacity, bandwidth, no live member) that nothing else could fix: that is the manager's
 * documented exception, and such moves are counted in the detail.
 */
public final class CoolDownCheck {
  public static final String NAME = "cool-down";
  private static final int EXAMPLES_MAX = 5;

  private final long coolDownMillis;
  private final Map<String, Long> last = new HashMap<>();
  private final List<String> found = new ArrayList<>();
  private long moves;
  private long forced;

  public CoolDownCheck(long coolDownMillis) {
    this.coolDownMillis = coolDownMillis;
  }

  /** {@code node} (query/node) started moving at {@code atMillis}. */
  public void moveStarted(long atMillis, String node, boolean wasForced) {
    moves++;
    Long before = last.put(node, atMillis);
    if (before != null && atMillis - before < coolDownMillis) {
      if (wasForced) {
        forced++;
      } else {
        found.add(node + " moved at " + before + " ms and again at " + atMillis + " ms, within its cool-down of " + coolDownMillis + " ms");
      }
    }
  }

  public RunReport.Verdict verdict() {
    String detail = found.isEmpty()
        ? moves + " node moves, none within a cool-down (" + forced + " forced by a broken limit)"
        : found.size() + " moves within a cool-down, e.g. " + found.subList(0, Math.min(EXAMPLES_MAX, found.size()));
    return new RunReport.Verdict(NAME, found.isEmpty(), detail);
  }
}
