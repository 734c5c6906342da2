package io.ferry.simulator.chaos;

import io.ferry.query.NodeId;
import io.ferry.query.Row;
import io.ferry.query.node.NodeLifecycle;
import io.ferry.simulator.check.BlockIntegrityCheck;
import io.ferry.simulator.check.LivenessCheck;
import io.ferry.simulator.check.OnceOnlyCheck;
import io.ferry.simulator.check.SingleOwnerCheck;
import io.ferry.simulator.report.RunReport;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Turns what a real-stack chaos run observed into a report with every checker's verdict. */
public final class ChaosReport {

  private ChaosReport() {}

  public static RunReport of(Scenario s, Path scenarioFile, long seed, ChaosRun.Observed o) {
    List<SingleOwnerCheck.Interval> intervals = intervals(o.lifecycle(), o.durationMillis());
    List<RunReport.Verdict> checkers = new ArrayList<>();
    List<RunReport.SinkFigures> sinks = new ArrayList<>();
    Map<String, Long> finishedAt = new HashMap<>();
    List<String> finishing = new ArrayList<>();
    if (s.hasQuery()) {
      List<Row> expected = ReferenceRun.run(o.graph(), 100_000_000).get(new NodeId(SampleQuery.SINK));
      List<Row> archived = SampleQuery.readArchive(o.graph(), o.archive());
      if (o.finished()) {
        finishedAt.put(SampleQuery.SINK, o.finishedMillis());
        finishedAt.put(SampleQuery.ARCHIVE, o.finishedMillis());
      }
      finishing.add(SampleQuery.SINK);
      finishing.add(SampleQuery.ARCHIVE);
      checkers.add(OnceOnlyCheck.check(SampleQuery.SINK, expected, o.sinkRows()));
      checkers.add(OnceOnlyCheck.check(SampleQuery.ARCHIVE, expected, archived));
      sinks.add(OnceOnlyCheck.figures(SampleQuery.SINK, expected, o.sinkRows()));
      sinks.add(OnceOnlyCheck.figures(SampleQuery.ARCHIVE, expected, archived));
    }
    if (s.volumes().count() > 0) {
      checkers.add(BlockIntegrityCheck.check(o.blockReads(), o.blockWrites(), o.blockMismatches(), o.volumes()));
      finishedAt.putAll(o.volumesCopiedAtMillis());
      finishing.addAll(o.volumes().keySet());
    }
    checkers.add(SingleOwnerCheck.check(intervals));
    checkers.add(LivenessCheck.check(finishing, true, finishedAt, o.throughput(), o.lastFaultMillis(), s.livenessBound().toMillis()));
    return new RunReport(
        s.name(),
        "real-stack",
        seed,
        "./ferry simulate --scenario " + scenarioFile + " --seed " + seed,
        o.durationMillis(),
        o.probabilities(),
        o.faults(),
        o.operations(),
        sinks,
        SingleOwnerCheck.overlaps(intervals).size(),
        o.migrationPausesMillis(),
        o.bytesPerLink(),
        o.throughput(),
        checkers,
        "");
  }

  /** Pairs each instance's start with its stop; one still running ends at the end of the run. */
  static List<SingleOwnerCheck.Interval> intervals(List<NodeLifecycle.Change> changes, long durationMillis) {
    Map<String, NodeLifecycle.Change> open = new HashMap<>();
    List<SingleOwnerCheck.Interval> out = new ArrayList<>();
    long origin = changes.stream().mapToLong(NodeLifecycle.Change::atMillis).min().orElse(0);
    for (NodeLifecycle.Change c : changes) {
      if (c.started()) {
        open.put(c.instance(), c);
      } else {
        NodeLifecycle.Change start = open.remove(c.instance());
        if (start != null) {
          out.add(new SingleOwnerCheck.Interval(c.entityId(), c.instance(), (start.atMillis() - origin) * 1000, (c.atMillis() - origin) * 1000));
        }
      }
    }
    long end = Math.max(durationMillis, changes.stream().mapToLong(NodeLifecycle.Change::atMillis).max().orElse(origin) - origin + 1);
    for (NodeLifecycle.Change start : open.values()) {
      out.add(new SingleOwnerCheck.Interval(start.entityId(), start.instance(), (start.atMillis() - origin) * 1000, end * 1000));
    }
    return out;
  }
}
