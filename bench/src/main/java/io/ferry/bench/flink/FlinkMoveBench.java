package io.ferry.bench.flink;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.util.EnvironmentInformation;

/**
 * What moving the sample query's window costs in Apache Flink: stop-with-savepoint, then a new job
 * restored from that savepoint, on a MiniCluster in this JVM with exactly-once checkpointing. The
 * peer figure for Ferry's migration pause (first pause to last resume); run by {@code
 * bench/run-flink-bench}.
 *
 * <p>Arguments, all optional: {@code --state=small|large}, {@code --n=20} measured moves, {@code
 * --rate=20000} rows/s, {@code --warmup=5s}, {@code --ferry-pause-ms=P50,P99} to print the ratio.
 */
public final class FlinkMoveBench {
  private static final long CHECKPOINT_INTERVAL_MS = 1000;

  private FlinkMoveBench() {}

  /** The two shapes: the sample query as is, and one holding well over 10 MB of window state. */
  enum StateSize {
    SMALL(16, Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(1)),
    // 200k keys in 30-day windows: with 2 ms of event time per row, the window open at the start
    // (2,240,000 s into its 30 days) stays open for about 2.4 h at 20,000 rows/s, so every key's
    // accumulator and timer stay in state for the whole run instead of being emitted.
    LARGE(200_000, Duration.ofDays(30), Duration.ofSeconds(30), Duration.ofSeconds(3));

    final int keys;
    final Duration window;
    /** Default run time before the first measured move: lets the key set fill the window state. */
    final Duration warmup;
    /** Run time after each restore before the next stop, so each stop sees a steady job. */
    final Duration settle;

    StateSize(int keys, Duration window, Duration warmup, Duration settle) {
      this.keys = keys;
      this.window = window;
      this.warmup = warmup;
      this.settle = settle;
    }
  }

  record Settings(StateSize state, int moves, long ratePerSecond, Duration warmup, Optional<double[]> ferryPauseMs) {
    Settings {
      if (moves < 1 || moves > 10_000) {
        throw new IllegalArgumentException("--n must be between 1 and 10000, got " + moves);
      }
      if (ratePerSecond < 1) {
        throw new IllegalArgumentException("--rate must be at least 1 row/s, got " + ratePerSecond);
      }
    }

    static Settings parse(String[] args) {
      StateSize state = StateSize.SMALL;
      int moves = 20;
      long rate = 20_000;
      Duration warmup = null;
      Optional<double[]> ferry = Optional.empty();
      for (String arg : args) {
        String[] kv = arg.split("=", 2);
        if (kv.length != 2) {
          throw new IllegalArgumentException("arguments are --name=value, got " + arg);
        }
        switch (kv[0]) {
          case "--state" -> state = StateSize.valueOf(kv[1].toUpperCase(Locale.ROOT));
          case "--n" -> moves = Integer.parseInt(kv[1]);
          case "--rate" -> rate = Long.parseLong(kv[1]);
          case "--warmup" -> warmup = Duration.parse("PT" + kv[1].toUpperCase(Locale.ROOT));
          case "--ferry-pause-ms" -> {
            double[] p = Arrays.stream(kv[1].split(",")).mapToDouble(Double::parseDouble).toArray();
            if (p.length != 2 || p[0] <= 0 || p[1] <= 0) {
              throw new IllegalArgumentException("--ferry-pause-ms is P50,P99 in ms, both > 0, got " + kv[1]);
            }
            ferry = Optional.of(p);
          }
          default -> throw new IllegalArgumentException("unknown argument " + kv[0]);
        }
      }
      return new Settings(state, moves, rate, warmup == null ? state.warmup : warmup, ferry);
    }
  }

  /** One measured move, in nanoseconds; {@code restoreToSinkNanos} is -1 when not awaited. */
  record Move(long stopNanos, long restoreNanos, long restoreToSinkNanos, long savepointBytes) {}

  public static void main(String[] args) throws Exception {
    Settings settings;
    try {
      settings = Settings.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("FlinkMoveBench: " + e.getMessage());
      System.err.println("usage: [--state=small|large] [--n=20] [--rate=20000] [--warmup=5s] [--ferry-pause-ms=P50,P99]");
      System.exit(2);
      return;
    }
    // Seed 11 is site a's in the sample query.
    SampleJob.Shape shape = new SampleJob.Shape(11, settings.state().keys, settings.state().window, settings.ratePerSecond());
    Path dir = Files.createTempDirectory("ferry-flink-bench");
    Path savepoints = dir.resolve("savepoints");
    Configuration config = FlinkMiniClusters.exactlyOnce(dir, Duration.ofMillis(CHECKPOINT_INTERVAL_MS));
    MiniCluster cluster = FlinkMiniClusters.start(config, 1);
    try {
      List<Move> moves = run(cluster, shape, config, savepoints, settings);
      report(settings, moves);
    } finally {
      cluster.close();
      FlinkMiniClusters.deleteTree(dir);
    }
  }

  private static List<Move> run(
      MiniCluster cluster, SampleJob.Shape shape, Configuration config, Path savepoints, Settings settings)
      throws Exception {
    boolean awaitSink = settings.state() == StateSize.SMALL;
    SampleJob.resetProbes();
    JobGraph first = SampleJob.jobGraph(shape, config);
    long submitted = System.nanoTime();
    FlinkMiniClusters.submit(cluster, first);
    JobID job = first.getJobID();
    FlinkMiniClusters.awaitProbe(cluster, job, SampleJob.FIRST_AT_WINDOW_NANOS, submitted, "the first record at the window");
    System.out.printf(
        Locale.ROOT,
        "flink %s: job running (keys=%d window=%s rate=%d rows/s); warm-up %s, then 1 unmeasured and %d measured moves%n",
        EnvironmentInformation.getVersion(),
        shape.keys(),
        shape.window(),
        shape.ratePerSecond(),
        settings.warmup(),
        settings.moves());
    long rowsBefore = SampleJob.ROWS_AT_WINDOW.get();
    long warmupStarted = System.nanoTime();
    Thread.sleep(settings.warmup().toMillis());
    double warmupSeconds = (System.nanoTime() - warmupStarted) / 1e9;
    // About 90% of the source rate: the filter drops values below 100 of 0..999.
    System.out.printf(
        Locale.ROOT,
        "warm-up: %.0f rows/s reached the window%n",
        (SampleJob.ROWS_AT_WINDOW.get() - rowsBefore) / warmupSeconds);

    List<Move> moves = new ArrayList<>();
    Optional<String> previousSavepoint = Optional.empty();
    // Move 0 warms the stop/restore code paths up and is not measured.
    for (int i = 0; i <= settings.moves(); i++) {
      JobGraph next = SampleJob.jobGraph(shape, config);

      FlinkMiniClusters.Stopped stopped = FlinkMiniClusters.stopWithSavepoint(cluster, job, savepoints, "move " + i);
      String savepoint = stopped.savepoint();
      long stopEnded = stopped.endedNanos();

      // The old job has terminated, so whatever the probes see from here on is the restored job's.
      SampleJob.resetProbes();
      FlinkMiniClusters.restore(cluster, next, savepoint);
      job = next.getJobID();
      long atWindow = FlinkMiniClusters.awaitProbe(cluster, job, SampleJob.FIRST_AT_WINDOW_NANOS, stopEnded, "move " + i + ": the first record at the window");
      long atSink =
          awaitSink
              ? FlinkMiniClusters.awaitProbe(cluster, job, SampleJob.FIRST_AT_SINK_NANOS, stopEnded, "move " + i + ": the first result at the sink")
              : -1;

      long savepointBytes = treeBytes(Path.of(URI.create(savepoint)));
      if (i > 0) {
        moves.add(new Move(stopped.nanos(), atWindow - stopEnded, atSink < 0 ? -1 : atSink - stopEnded, savepointBytes));
      }
      // The hashmap backend has read the whole savepoint into memory by the time records flow, and
      // the default restore mode (NO_CLAIM) leaves the files to us.
      previousSavepoint.ifPresent(p -> FlinkMiniClusters.deleteTree(Path.of(URI.create(p))));
      previousSavepoint = Optional.of(savepoint);
      Thread.sleep(settings.state().settle.toMillis());
    }
    FlinkMiniClusters.cancel(cluster, job);
    return moves;
  }

  private static void report(Settings settings, List<Move> moves) {
    double[] stop = millis(moves.stream().mapToLong(Move::stopNanos).toArray());
    double[] restore = millis(moves.stream().mapToLong(Move::restoreNanos).toArray());
    double[] total = millis(moves.stream().mapToLong(m -> m.stopNanos() + m.restoreNanos()).toArray());
    long[] bytes = moves.stream().mapToLong(Move::savepointBytes).sorted().toArray();
    String state = settings.state().name().toLowerCase(Locale.ROOT);
    System.out.printf(
        Locale.ROOT,
        "flink move (stop-with-savepoint + restore)  state=%s  n=%d  stop p50=%.1f p99=%.1f  restore p50=%.1f p99=%.1f  total p50=%.1f p99=%.1f ms%n",
        state,
        moves.size(),
        pct(stop, 50),
        pct(stop, 99),
        pct(restore, 50),
        pct(restore, 99),
        pct(total, 50),
        pct(total, 99));
    System.out.printf(
        Locale.ROOT,
        "  restore = job resubmitted from the savepoint until its first record reaches the window; savepoint size p50=%d bytes%n",
        bytes[bytes.length / 2]);
    if (moves.get(0).restoreToSinkNanos() >= 0) {
      double[] toSink = millis(moves.stream().mapToLong(Move::restoreToSinkNanos).toArray());
      double[] totalToSink = millis(moves.stream().mapToLong(m -> m.stopNanos() + m.restoreToSinkNanos()).toArray());
      System.out.printf(
          Locale.ROOT,
          "  restore until the first window result reaches the sink: p50=%.1f p99=%.1f ms (total p50=%.1f p99=%.1f ms)%n",
          pct(toSink, 50),
          pct(toSink, 99),
          pct(totalToSink, 50),
          pct(totalToSink, 99));
    }
    settings
        .ferryPauseMs()
        .ifPresent(
            ferry ->
                System.out.printf(
                    Locale.ROOT,
                    "flink/ferry  total p50 %.1f / %.1f = %.1fx  p99 %.1f / %.1f = %.1fx%n",
                    pct(total, 50),
                    ferry[0],
                    pct(total, 50) / ferry[0],
                    pct(total, 99),
                    ferry[1],
                    pct(total, 99) / ferry[1]));
  }

  private static double[] millis(long[] nanos) {
    return Arrays.stream(nanos).mapToDouble(n -> n / 1e6).toArray();
  }

  /** Nearest-rank percentile; with n = 20, p99 is the largest sample. */
  private static double pct(double[] values, int p) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  private static long treeBytes(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }

}
