package io.ferry.simulator.check;

import io.ferry.query.Row;
import io.ferry.simulator.report.RunReport;
import io.ferry.testkit.OnceOnlyChecker;
import java.util.List;

/**
 * Invariant 1: a sink delivered exactly the rows of the fault-free reference run, each once. Takes
 * plain row lists, so the deterministic simulator and the real-stack runner both use it. Order is
 * not compared: a union sink interleaves its inputs differently from run to run.
 */
public final class OnceOnlyCheck {
  public static final String NAME = "once-only";

  private OnceOnlyCheck() {}

  public static RunReport.Verdict check(String sink, List<Row> reference, List<Row> actual) {
    OnceOnlyChecker.Verdict v = OnceOnlyChecker.check(reference, actual);
    boolean ok = v.lost() == 0 && v.duplicated() == 0 && v.unexpected() == 0;
    return new RunReport.Verdict(NAME, ok, "sink=" + sink + " " + v);
  }

  /** The sink's figures for the report. */
  public static RunReport.SinkFigures figures(String sink, List<Row> reference, List<Row> actual) {
    OnceOnlyChecker.Verdict v = OnceOnlyChecker.check(reference, actual);
    return new RunReport.SinkFigures(sink, v.referenceRows(), v.actualRows(), v.lost(), v.duplicated(), v.unexpected());
  }
}
