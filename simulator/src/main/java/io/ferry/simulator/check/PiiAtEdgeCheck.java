package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;

/**
 * PII never leaves the edge: every observation of a node that receives a PII field finds it at an
 * edge site. Observed at every placement change and every sample of a placement simulation.
 */
public final class PiiAtEdgeCheck {
  public static final String NAME = "pii-at-edge";
  private static final int EXAMPLES_MAX = 5;

  private final List<String> found = new ArrayList<>();
  private long observations;

  public void observe(long atMillis, String node, String site, boolean edge, boolean pii) {
    observations++;
    if (pii && !edge) {
      found.add(node + " (receives PII) at non-edge site " + site + " at " + atMillis + " ms");
    }
  }

  public RunReport.Verdict verdict() {
    String detail = found.isEmpty()
        ? observations + " observations, every PII node at the edge"
        : found.size() + " PII nodes off the edge, e.g. " + found.subList(0, Math.min(EXAMPLES_MAX, found.size()));
    return new RunReport.Verdict(NAME, found.isEmpty(), detail);
  }
}
