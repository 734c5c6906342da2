package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * No site stays over its capacity longer than one re-plan period after a plan: observed at each
 * re-plan, a site over capacity must be back under it at the next one (the plan's moves take well
 * under a period). Scenarios only raise load to levels some placement fits.
 */
public final class CapacityCheck {
  public static final String NAME = "capacity";
  private static final int EXAMPLES_MAX = 5;

  private final Map<String, Long> overSince = new HashMap<>();
  private final List<String> found = new ArrayList<>();
  private long plans;
  private long overloads;

  /** At the re-plan at {@code atMillis}, {@code site} used {@code usedCores} of {@code cores}. */
  public void atPlan(long atMillis, String site, double usedCores, double cores) {
    plans++;
    boolean over = usedCores > cores * (1 + 1e-9);
    Long since = overSince.get(site);
    if (!over) {
      overSince.remove(site);
    } else if (since == null) {
      overloads++;
      overSince.put(site, atMillis);
    } else {
      found.add(String.format(java.util.Locale.ROOT, "%s over capacity at the plan of %d ms and still at %d ms (%.2f of %.2f cores)",
          site, since, atMillis, usedCores, cores));
    }
  }

  public RunReport.Verdict verdict() {
    String detail = found.isEmpty()
        ? plans + " site samples at re-plans, " + overloads + " overloads, each gone by the next re-plan"
        : found.size() + " overloads outlived a re-plan period, e.g. " + found.subList(0, Math.min(EXAMPLES_MAX, found.size()));
    return new RunReport.Verdict(NAME, found.isEmpty(), detail);
  }
}
