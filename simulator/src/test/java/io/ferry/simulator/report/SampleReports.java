package io.ferry.simulator.report;

import io.ferry.simulator.report.RunReport.Event;
import io.ferry.simulator.report.RunReport.Point;
import io.ferry.simulator.report.RunReport.SinkFigures;
import io.ferry.simulator.report.RunReport.Verdict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Reports for the writer's tests: one busy failing run, one run with nothing to plot. */
final class SampleReports {

  static final long SEED = 4_242_424_242L;

  private SampleReports() {}

  /** A 60 s real-stack run with faults of four kinds, five moves, and a failing once-only checker. */
  static RunReport failing() {
    Random random = new Random(SEED);
    String[] kinds = {"partition", "crash", "clock-skew", "slow-disk"};
    List<Event> faults = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String kind = kinds[random.nextInt(kinds.length)];
      faults.add(new Event(500 + i * 1_450L + random.nextInt(400), kind, "edge-" + (i % 3) + "<->cloud"));
    }
    faults.add(new Event(31_000, "crash", "<script>alert('x')</script> & \"quoted\""));
    faults.sort(java.util.Comparator.comparingLong(Event::atMillis));
    List<Event> operations = List.of(
        new Event(0, "deploy", "query q1 on edge-a, edge-b, cloud"),
        new Event(12_000, "migrate", "window-1 edge-a -> cloud"),
        new Event(40_000, "migrate", "window-2 cloud -> edge-b"));
    List<Point> throughput = new ArrayList<>();
    long rows = 0;
    for (long t = 0; t <= 60_000; t += 500) {
      rows += (t > 20_000 && t < 26_000) ? 40 : 900 + random.nextInt(200);
      throughput.add(new Point(t, rows));
    }
    Map<String, Double> probabilities = new LinkedHashMap<>();
    probabilities.put("partition", 0.02);
    probabilities.put("crash", 0.005);
    probabilities.put("clock-skew", 0.01);
    probabilities.put("slow-disk", 0.05);
    Map<String, Long> bytes = new LinkedHashMap<>();
    bytes.put("edge-a->cloud", 48_234_112L);
    bytes.put("edge-b->cloud", 39_001_577L);
    bytes.put("cloud->edge-a", 1_204_551L);
    return new RunReport(
        "partition-during-move",
        "real-stack",
        SEED,
        "mvn -q -pl simulator exec:java -Dferry.sim.seed=" + SEED + " -Dferry.sim.scenario=partition-during-move",
        60_000,
        probabilities,
        faults,
        operations,
        List.of(
            new SinkFigures("totals", 100_000, 99_988, 12, 0, 0),
            new SinkFigures("alerts", 2_310, 2_313, 0, 3, 0)),
        1,
        List.of(420L, 1_310L, 95L, 610L, 2_040L),
        bytes,
        throughput,
        List.of(
            new Verdict("once-only", false, "sink totals lost 12 rows (<anchor 1200>)"),
            new Verdict("single-owner", false, "window-1 had two owners for 180 ms"),
            new Verdict("progress", true, "every query advanced after the last fault")),
        "9f2c41d0a7be");
  }

  /** A short deterministic run that injected nothing, moved nothing and delivered nothing. */
  static RunReport quiet() {
    return new RunReport(
        "idle", "deterministic", 7, "ferry-sim --seed 7 --scenario idle", 1_000,
        Map.of(), List.of(), List.of(), List.of(), 0, List.of(), Map.of(), List.of(),
        List.of(new Verdict("once-only", true, "")), "00");
  }
}
