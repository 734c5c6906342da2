package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * After the faults heal the query makes progress again within a bound: a finite query's sinks all
 * finish by {@code healAt + bound}; an unbounded query's output grows between the heal and that
 * deadline. Takes plain times and a throughput series, not simulator internals.
 */
public final class LivenessCheck {
  public static final String NAME = "liveness";

  private LivenessCheck() {}

  /**
   * @param finishedAtMillis when each sink delivered its end, for those that did
   * @param throughput rows delivered to all sinks over time, in time order
   */
  public static RunReport.Verdict check(
      List<String> sinks,
      boolean finite,
      Map<String, Long> finishedAtMillis,
      List<RunReport.Point> throughput,
      long healAtMillis,
      long boundMillis) {
    long deadline = healAtMillis + boundMillis;
    if (finite) {
      List<String> late = new ArrayList<>();
      for (String sink : sinks) {
        Long at = finishedAtMillis.get(sink);
        if (at == null || at > deadline) {
          late.add(sink + (at == null ? " never finished" : " finished at " + at + " ms"));
        }
      }
      return new RunReport.Verdict(
          NAME,
          late.isEmpty(),
          late.isEmpty()
              ? "every sink finished by " + deadline + " ms (heal at " + healAtMillis + " ms + " + boundMillis + " ms)"
              : "past the deadline " + deadline + " ms: " + late);
    }
    long atHeal = rowsAt(throughput, healAtMillis);
    long atDeadline = rowsAt(throughput, deadline);
    boolean ok = atDeadline > atHeal;
    return new RunReport.Verdict(
        NAME, ok, "rows at heal " + healAtMillis + " ms: " + atHeal + ", at " + deadline + " ms: " + atDeadline
            + (ok ? "" : ": output did not resume"));
  }

  private static long rowsAt(List<RunReport.Point> throughput, long atMillis) {
    long rows = 0;
    for (RunReport.Point p : throughput) {
      if (p.atMillis() > atMillis) {
        break;
      }
      rows = p.rows();
    }
    return rows;
  }
}
