package io.ferry.bench;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.metrics.FerryMetrics;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.RescaleProcess.RescaleReport;
import io.ferry.placement.Tier;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.node.NodeMetricNames;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.SinkReader;
import io.ferry.testkit.TestCluster;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Live rescale of a keyed window under a paced stream: the window runs with parallelism P split
 * between an edge member and the cloud's, and is rescaled P → P' and back {@code --n} times. Prints
 * each rescale's upstream pause and total time, their p50/max over the rescales after the first
 * (cold) one, and at the end the sink checked once-only against a one-instance reference run. The
 * query is the one {@code bench/run-flink-rescale} gives Flink (seed 11, {@code value >= 100}, drop
 * owner, 1 s tumbling window with 200 ms lateness, count/sum/min/max/avg), so the two compare.
 */
@Command(name = "bench-rescale", description = "Rescale a keyed window live P -> P' and back under a paced stream: upstream pause and total time, once-only checked.")
public final class RescaleBench implements Callable<Integer> {

  static final QueryId QUERY = new QueryId("rescale-bench");
  static final NodeId WINDOW = new NodeId("w");
  /** Event time of row 0 and per row, and the jitter: the sample query's, as in the Flink job. */
  static final long START_MS = 1_700_000_000_000L;
  static final long STEP_MS = 2;
  static final long DISORDER_MS = 300;
  /** Run time before the first rescale: every instance has window state by then. */
  static final long WARMUP_SECONDS = 3;
  /**
   * Stream time budgeted per rescale (rescale plus settle): the stream is finite so that the sink
   * can be checked once-only, and must still be flowing at the last rescale.
   */
  static final long SECONDS_PER_RESCALE = 3;

  @Option(names = "--n", description = "measured rescales after one cold one (default ${DEFAULT-VALUE})")
  int n = 10;

  @Option(names = "--from", description = "parallelism P at the start (default ${DEFAULT-VALUE})")
  int from = 2;

  @Option(names = "--to", description = "parallelism P' rescaled to, then back to P (default ${DEFAULT-VALUE})")
  int to = 4;

  @Option(names = "--rate", description = "source rows/s (default ${DEFAULT-VALUE})")
  long rate = 4_000;

  @Option(names = "--keys", description = "distinct keys (default ${DEFAULT-VALUE})")
  int keys = 200;

  @Option(names = "--no-slices", description = "every instance reads every row (ferry.rescale.slice-input = off), to compare the bytes sent")
  boolean noSlices;

  @Option(names = "--settle-ms", description = "stream time after each rescale before the next (default ${DEFAULT-VALUE})")
  long settleMs = 1_000;

  static QueryGraph graph(long count, int keys, long rate, int parallelism, int max) {
    return new QueryGraph(QUERY, List.of(
        new NodeDef(new NodeId("src"), new OperatorSpec.Generate(11, keys, count, START_MS, STEP_MS, DISORDER_MS, rate), List.of()),
        new NodeDef(new NodeId("filter"), new OperatorSpec.Filter(Predicate.field("value", Predicate.Op.GE, 100L)), List.of(new NodeId("src"))),
        // the owner is PII: dropped at the edge, so window instances may run in the cloud
        new NodeDef(new NodeId("anon"), new OperatorSpec.Project(List.of(), List.of("owner"), List.of()), List.of(new NodeId("filter"))),
        new NodeDef(WINDOW, new OperatorSpec.Window("key", "ts", 1_000, 200, List.of(
            new Aggregate(AggregateFn.COUNT, null, "n"), new Aggregate(AggregateFn.SUM, "value", "total"),
            new Aggregate(AggregateFn.MIN, "value", "low"), new Aggregate(AggregateFn.MAX, "value", "high"),
            new Aggregate(AggregateFn.AVG, "value", "mean"))),
            List.of(new NodeId("anon")), parallelism, max),
        new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(WINDOW))));
  }

  @Override
  public Integer call() throws Exception {
    int max = Math.max(from, to);
    if (n < 1 || n > 200 || from < 1 || to < 1 || from == to || max > 32 || rate < 100 || rate > 100_000 || keys < 1 || settleMs < 0) {
      throw new IllegalArgumentException("--n 1..200, --from and --to 1..32 and different, --rate 100..100000, --keys >= 1, --settle-ms >= 0");
    }
    long count = rate * (WARMUP_SECONDS + (n + 1) * (SECONDS_PER_RESCALE + settleMs / 1000) + 5);
    Path dir = Files.createTempDirectory("ferry-rescale-bench");
    System.out.printf(Locale.ROOT, "ferry rescale benchmark: window %d <-> %d instances, %d rescales (1 cold + %d measured), %d rows at %d rows/s, %d keys,"
        + " edge + cloud members on loopback, H2 journal in %s (load average %s)%n", from, to, n + 1, n, count, rate, keys, dir, loadAverage());
    QueryGraph graph = graph(count, keys, rate, from, max);
    Placement.Builder placement = Placement.builder().place("edge-a", "src", "filter", "anon", "w.0");
    for (int i = 1; i < max; i++) {
      placement.place("cloud", "w." + i);
    }
    placement.place("cloud", "out");
    List<RescaleReport> reports = new ArrayList<>();
    try (TestCluster cluster = TestCluster.builder(dir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE)
        .config(ConfigFactory.parseString("pekko.loglevel = WARNING\nferry.rescale.slice-input = " + (noSlices ? "off" : "on"))).start()) {
      Deployment d = cluster.deploy(graph, placement.build());
      try (SinkReader out = cluster.readSink(d, "out")) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (out.rows().isEmpty()) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("no window output within 60 s");
          }
          TimeUnit.MILLISECONDS.sleep(20); // polling for the first output, not timing anything
        }
        TimeUnit.SECONDS.sleep(WARMUP_SECONDS);
        int at = from;
        for (int i = 0; i <= n; i++) {
          int next = at == from ? to : from;
          if (out.done()) {
            throw new IllegalStateException("the stream ended before rescale " + i + ": raise the stream (rescales are slower than budgeted)");
          }
          RescaleReport r = cluster.ferry().rescale(QUERY, WINDOW, next).toCompletableFuture().get(120, TimeUnit.SECONDS);
          if (r.outcome() != MigrationReport.Outcome.COMPLETED) {
            throw new IllegalStateException("rescale " + i + " did not complete: " + r);
          }
          System.out.printf(Locale.ROOT, "%-5s rescale %d -> %d  upstream pause %4d ms  total %4d ms  (%d key groups moved, %d window entries, anchor %d)%n",
              i == 0 ? "cold" : "#" + i, r.from(), r.to(), r.pauseMillis(), r.totalMillis(), r.groupsMoved(), r.entries(), r.anchor());
          if (i > 0) {
            reports.add(r);
          }
          at = next;
          TimeUnit.MILLISECONDS.sleep(settleMs);
        }
        boolean live = !out.done();
        out.awaitDone(Duration.ofMinutes(5));
        List<Row> expected = ReferenceRun.run(graph(count, keys, rate, 0, 0), count + 1).get(new NodeId("out"));
        OnceOnlyChecker.Verdict verdict = OnceOnlyChecker.check(expected, out.rows());
        long[] pause = reports.stream().mapToLong(RescaleReport::pauseMillis).sorted().toArray();
        long[] total = reports.stream().mapToLong(RescaleReport::totalMillis).sorted().toArray();
        System.out.printf(Locale.ROOT, "ferry rescale (live)  %d <-> %d  n=%d  upstream pause p50=%d max=%d  total p50=%d max=%d ms%n",
            from, to, reports.size(), pct(pause, 50), pause[pause.length - 1], pct(total, 50), total[total.length - 1]);
        System.out.printf(Locale.ROOT, "stream still flowing after the last rescale: %s; sink %s%n", live ? "yes" : "NO", verdict);
        MeterRegistry edge = FerryMetrics.get(cluster.member("edge-a").system()).registry();
        double sent = edge.find(NodeMetricNames.SENT_BYTES).tag("query", QUERY.value()).tag("node", "anon").counters().stream()
            .filter(c -> c.getId().getTag("consumer").startsWith(WINDOW.value() + ".")).mapToDouble(Counter::count).sum();
        double rowsOut = edge.find(NodeMetricNames.ROWS_OUT).tag("query", QUERY.value()).tag("node", "anon").counters().stream()
            .mapToDouble(Counter::count).sum();
        System.out.printf(Locale.ROOT, "input of the window's %d instances (%s): anon sent them %.1f MB for its %.0f output rows, %.1f bytes per row%n",
            max, noSlices ? "every instance reads every row" : "each instance its key groups' slice", sent / 1e6, rowsOut, sent / Math.max(1, rowsOut));
        System.out.printf("load average at the end: %s%n", loadAverage());
        return verdict.ok() && live ? 0 : 1;
      }
    }
  }

  /** Nearest-rank percentile of sorted values. */
  static long pct(long[] sorted, int p) {
    return sorted[(int) Math.max(0, Math.min(sorted.length - 1, Math.ceil(sorted.length * p / 100.0) - 1))];
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (Exception e) {
      return "?";
    }
  }
}
