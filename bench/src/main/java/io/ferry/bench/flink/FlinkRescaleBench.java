package io.ferry.bench.flink;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.util.EnvironmentInformation;

/**
 * What rescaling the keyed window of {@code ferry bench-rescale}'s query costs in Apache Flink:
 * stop-with-savepoint, then the job resubmitted from that savepoint with the window at the other
 * parallelism (P → P' and back), on a MiniCluster in this JVM with exactly-once checkpointing. The
 * whole job stands still from the stop request until the restored window takes its first record,
 * so that time is both Flink's pause and its total. Run by {@code bench/compare-rescale}.
 *
 * <p>Arguments, all optional: {@code --n=10} measured rescales after one unmeasured, {@code --from=2},
 * {@code --to=4}, {@code --rate=4000} rows/s, {@code --keys=200}, {@code --settle=1s}, and {@code
 * --ferry-ms=PAUSE_P50,PAUSE_MAX,TOTAL_P50,TOTAL_MAX} (Ferry's figures from the same run) to print
 * the ratios.
 */
public final class FlinkRescaleBench {
  private static final Duration WARMUP = Duration.ofSeconds(3);

  private FlinkRescaleBench() {}

  record Settings(int rescales, int from, int to, long ratePerSecond, int keys, Duration settle, Optional<double[]> ferryMs) {
    Settings {
      if (rescales < 1 || rescales > 1_000 || from < 1 || to < 1 || from == to || Math.max(from, to) > SampleJob.MAX_PARALLELISM
          || ratePerSecond < 1 || keys < 1) {
        throw new IllegalArgumentException("--n 1..1000, --from and --to 1..128 and different, --rate >= 1, --keys >= 1");
      }
    }

    static Settings parse(String[] args) {
      int n = 10;
      int from = 2;
      int to = 4;
      long rate = 4_000;
      int keys = 200;
      Duration settle = Duration.ofSeconds(1);
      Optional<double[]> ferry = Optional.empty();
      for (String arg : args) {
        String[] kv = arg.split("=", 2);
        if (kv.length != 2) {
          throw new IllegalArgumentException("arguments are --name=value, got " + arg);
        }
        switch (kv[0]) {
          case "--n" -> n = Integer.parseInt(kv[1]);
          case "--from" -> from = Integer.parseInt(kv[1]);
          case "--to" -> to = Integer.parseInt(kv[1]);
          case "--rate" -> rate = Long.parseLong(kv[1]);
          case "--keys" -> keys = Integer.parseInt(kv[1]);
          case "--settle" -> settle = Duration.parse("PT" + kv[1].toUpperCase(Locale.ROOT));
          case "--ferry-ms" -> {
            double[] f = Arrays.stream(kv[1].split(",")).mapToDouble(Double::parseDouble).toArray();
            if (f.length != 4 || Arrays.stream(f).anyMatch(v -> v <= 0)) {
              throw new IllegalArgumentException("--ferry-ms is PAUSE_P50,PAUSE_MAX,TOTAL_P50,TOTAL_MAX in ms, all > 0, got " + kv[1]);
            }
            ferry = Optional.of(f);
          }
          default -> throw new IllegalArgumentException("unknown argument " + kv[0]);
        }
      }
      return new Settings(n, from, to, rate, keys, settle, ferry);
    }
  }

  /** One measured rescale, in nanoseconds. */
  record Rescale(int from, int to, long stopNanos, long restoreNanos) {}

  public static void main(String[] args) throws Exception {
    Settings settings;
    try {
      settings = Settings.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("FlinkRescaleBench: " + e.getMessage());
      System.err.println("usage: [--n=10] [--from=2] [--to=4] [--rate=4000] [--keys=200] [--settle=1s] [--ferry-ms=PAUSE_P50,PAUSE_MAX,TOTAL_P50,TOTAL_MAX]");
      System.exit(2);
      return;
    }
    // Seed 11, 1 s tumbling windows: the query of ferry bench-rescale.
    SampleJob.Shape shape = new SampleJob.Shape(11, settings.keys(), Duration.ofSeconds(1), settings.ratePerSecond());
    Path dir = Files.createTempDirectory("ferry-flink-rescale");
    Configuration config = FlinkMiniClusters.exactlyOnce(dir, Duration.ofSeconds(1));
    // One TaskManager with a slot per window subtask at the larger parallelism (slot sharing puts
    // the source, filter, projection and sink beside them).
    MiniCluster cluster = FlinkMiniClusters.start(config, Math.max(settings.from(), settings.to()));
    try {
      report(settings, run(cluster, shape, config, dir.resolve("savepoints"), settings));
    } finally {
      cluster.close();
      FlinkMiniClusters.deleteTree(dir);
    }
  }

  private static List<Rescale> run(MiniCluster cluster, SampleJob.Shape shape, Configuration config, Path savepoints, Settings settings)
      throws Exception {
    SampleJob.resetProbes();
    JobGraph first = SampleJob.jobGraph(shape, config, settings.from());
    long submitted = System.nanoTime();
    FlinkMiniClusters.submit(cluster, first);
    JobID job = first.getJobID();
    FlinkMiniClusters.awaitProbe(cluster, job, SampleJob.FIRST_AT_WINDOW_NANOS, submitted, "the first record at the window");
    System.out.printf(Locale.ROOT,
        "flink %s: window %d <-> %d subtasks (max parallelism %d), keys=%d, rate=%d rows/s; warm-up %s, then 1 unmeasured and %d measured rescales%n",
        EnvironmentInformation.getVersion(), settings.from(), settings.to(), SampleJob.MAX_PARALLELISM, shape.keys(), shape.ratePerSecond(),
        WARMUP, settings.rescales());
    Thread.sleep(WARMUP.toMillis());
    List<Rescale> rescales = new ArrayList<>();
    Optional<String> previousSavepoint = Optional.empty();
    int at = settings.from();
    for (int i = 0; i <= settings.rescales(); i++) {
      int next = at == settings.from() ? settings.to() : settings.from();
      JobGraph graph = SampleJob.jobGraph(shape, config, next);
      FlinkMiniClusters.Stopped stopped = FlinkMiniClusters.stopWithSavepoint(cluster, job, savepoints, "rescale " + i);
      String savepoint = stopped.savepoint();
      long stopEnded = stopped.endedNanos();
      // The old job has terminated: from here on the probe sees the restored job's records only.
      SampleJob.resetProbes();
      FlinkMiniClusters.restore(cluster, graph, savepoint);
      job = graph.getJobID();
      long atWindow = FlinkMiniClusters.awaitProbe(cluster, job, SampleJob.FIRST_AT_WINDOW_NANOS, stopEnded, "rescale " + i + ": the first record at the window");
      Rescale r = new Rescale(at, next, stopped.nanos(), atWindow - stopEnded);
      System.out.printf(Locale.ROOT, "%-5s rescale %d -> %d  stop %.0f ms  restore %.0f ms  total %.0f ms%n", i == 0 ? "cold" : "#" + i,
          at, next, r.stopNanos() / 1e6, r.restoreNanos() / 1e6, (r.stopNanos() + r.restoreNanos()) / 1e6);
      if (i > 0) {
        rescales.add(r);
      }
      previousSavepoint.ifPresent(p -> FlinkMiniClusters.deleteTree(Path.of(URI.create(p))));
      previousSavepoint = Optional.of(savepoint);
      at = next;
      Thread.sleep(settings.settle().toMillis());
    }
    FlinkMiniClusters.cancel(cluster, job);
    return rescales;
  }

  private static void report(Settings settings, List<Rescale> rescales) {
    double[] stop = rescales.stream().mapToDouble(r -> r.stopNanos() / 1e6).sorted().toArray();
    double[] restore = rescales.stream().mapToDouble(r -> r.restoreNanos() / 1e6).sorted().toArray();
    double[] total = rescales.stream().mapToDouble(r -> (r.stopNanos() + r.restoreNanos()) / 1e6).sorted().toArray();
    System.out.printf(Locale.ROOT,
        "flink rescale (stop-with-savepoint + restore at the new parallelism)  %d <-> %d  n=%d  stop p50=%.0f max=%.0f  restore p50=%.0f max=%.0f"
            + "  total (= pause) p50=%.0f max=%.0f ms%n",
        settings.from(), settings.to(), rescales.size(), pct(stop, 50), stop[stop.length - 1], pct(restore, 50), restore[restore.length - 1],
        pct(total, 50), total[total.length - 1]);
    settings.ferryMs().ifPresent(f -> System.out.printf(Locale.ROOT,
        "flink/ferry  pause p50 %.0f / %.0f = %.1fx  max %.0f / %.0f = %.1fx;  total p50 %.0f / %.0f = %.1fx  max %.0f / %.0f = %.1fx%n",
        pct(total, 50), f[0], pct(total, 50) / f[0], total[total.length - 1], f[1], total[total.length - 1] / f[1],
        pct(total, 50), f[2], pct(total, 50) / f[2], total[total.length - 1], f[3], total[total.length - 1] / f[3]));
  }

  /** Nearest-rank percentile of sorted values. */
  private static double pct(double[] sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

}
