package io.ferry.bench.flink;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;

/**
 * Throughput of Ferry's sample query in Apache Flink, the peer figure beside {@code ./ferry bench
 * 1000000 0 --members 1}: both chains (seeds 11 and 23, 16 keys, {@code value >= 100}, drop {@code
 * owner}, 1 s tumbling event-time window with count/sum/min/max/avg) into one sink, each source
 * bounded at {@code --rows} rows and unpaced, every operator at parallelism 1, on a MiniCluster in
 * this JVM with exactly-once checkpoints every second (hashmap state, checkpoints on the local
 * file system). Timed from job submission to the job's end, after one unmeasured smaller run, as
 * Ferry's bench times deploy to the sink's last row after its warm-up.
 */
public final class FlinkThroughputBench {

  private static final long CHECKPOINT_INTERVAL_MS = 1_000;
  private static final Duration JOB_TIMEOUT = Duration.ofMinutes(10);

  /** Window results that reached the sink, over all jobs: shows the job produced its output. */
  static final AtomicLong RESULTS = new AtomicLong();

  private FlinkThroughputBench() {}

  /**
   * @param ferryRowsPerSecond Ferry's wall-clock figure from the same run, or -1
   * @param ferryRowsPerCpuSecond Ferry's rows per CPU-second from the same run, or -1
   */
  record Settings(long rows, double ferryRowsPerSecond, double ferryRowsPerCpuSecond) {
    static Settings parse(String[] args) {
      long rows = 1_000_000;
      double ferry = -1;
      double ferryCpu = -1;
      for (String a : args) {
        if (a.startsWith("--rows=")) {
          rows = Long.parseLong(a.substring("--rows=".length()));
        } else if (a.startsWith("--ferry-rows-per-sec=")) {
          ferry = Double.parseDouble(a.substring("--ferry-rows-per-sec=".length()).replace(",", ""));
        } else if (a.startsWith("--ferry-rows-per-cpu-sec=")) {
          ferryCpu = Double.parseDouble(a.substring("--ferry-rows-per-cpu-sec=".length()).replace(",", ""));
        } else {
          throw new IllegalArgumentException("unknown argument " + a);
        }
      }
      if (rows < 1_000) {
        throw new IllegalArgumentException("--rows must be at least 1000, got " + rows);
      }
      return new Settings(rows, ferry, ferryCpu);
    }
  }

  public static void main(String[] args) throws Exception {
    Settings settings;
    try {
      settings = Settings.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("FlinkThroughputBench: " + e.getMessage());
      System.err.println("usage: [--rows=1000000] [--ferry-rows-per-sec=R] [--ferry-rows-per-cpu-sec=C]");
      System.exit(2);
      return;
    }
    int cores = Runtime.getRuntime().availableProcessors();
    Path dir = Files.createTempDirectory("ferry-flink-throughput");
    Configuration config = FlinkMiniClusters.exactlyOnce(dir, Duration.ofMillis(CHECKPOINT_INTERVAL_MS));
    MiniCluster cluster = FlinkMiniClusters.start(config, 1);
    try {
      System.out.printf(
          "flink %s MiniCluster: %d rows per source, 2 sources, %d cores, exactly-once checkpoints every %d ms%n",
          EnvironmentInformation.getVersion(), settings.rows(), cores, CHECKPOINT_INTERVAL_MS);
      run(cluster, config, Math.max(10_000, settings.rows() / 5)); // warm-up, as Ferry's bench
      long before = RESULTS.get();
      double cpuStart = processCpuSeconds();
      double seconds = run(cluster, config, settings.rows());
      double cpuSeconds = processCpuSeconds() - cpuStart;
      long rows = 2 * settings.rows();
      double perSecond = rows / seconds;
      System.out.printf(
          Locale.ROOT,
          "flink throughput  rows=%d  %.2f s  %,.0f rows/s  %,.0f rows/s per core  window results=%d  cpu %.1f s: %,.0f rows per cpu-second  load %s%n",
          rows, seconds, perSecond, perSecond / cores, RESULTS.get() - before, cpuSeconds, rows / cpuSeconds, loadAverage());
      if (settings.ferryRowsPerSecond() > 0) {
        System.out.printf(
            Locale.ROOT,
            "ferry/flink  wall clock: %,.0f / %,.0f rows/s per core = %.2f (goal >= 1.0)%n",
            settings.ferryRowsPerSecond() / cores, perSecond / cores, settings.ferryRowsPerSecond() / perSecond);
      }
      if (settings.ferryRowsPerCpuSecond() > 0) {
        System.out.printf(
            Locale.ROOT,
            "ferry/flink  cpu: %,.0f / %,.0f rows per cpu-second = %.2f (the figure a loaded machine does not skew)%n",
            settings.ferryRowsPerCpuSecond(), rows / cpuSeconds, settings.ferryRowsPerCpuSecond() / (rows / cpuSeconds));
      }
    } finally {
      cluster.close();
      FlinkMiniClusters.deleteTree(dir);
    }
  }

  /** This JVM's CPU time so far (all threads, the MiniCluster's included), in seconds. */
  private static double processCpuSeconds() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime() / 1e9;
    }
    throw new IllegalStateException("this JVM does not report its process CPU time");
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  /** Runs the job with {@code rows} per source to its end; seconds from submission to the end. */
  private static double run(MiniCluster cluster, Configuration config, long rows) throws Exception {
    JobGraph graph = jobGraph(config, rows);
    long start = System.nanoTime();
    JobID job = cluster.submitJob(graph).get(60, TimeUnit.SECONDS).getJobID();
    JobResult result = cluster.requestJobResult(job).get(JOB_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    if (!result.isSuccess()) {
      throw new IllegalStateException(
          "flink job failed: " + result.getSerializedThrowable().map(Throwable::toString).orElse(result.getApplicationStatus().toString()));
    }
    return seconds;
  }

  private static JobGraph jobGraph(Configuration config, long rows) {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
    // One subtask per operator, as Ferry runs one logic node per operator.
    env.setParallelism(1);
    DataStream<SampleJob.Result> a = chain(env, "a", 11, rows);
    DataStream<SampleJob.Result> b = chain(env, "b", 23, rows);
    a.union(b).sinkTo(new CountingSink()).name("out").uid("out");
    return env.getStreamGraph().getJobGraph();
  }

  /** One edge chain of the sample query, its source bounded at {@code rows} and unpaced. */
  private static DataStream<SampleJob.Result> chain(StreamExecutionEnvironment env, String site, long seed, long rows) {
    DataGeneratorSource<Tuple4<String, Long, Long, String>> source =
        new DataGeneratorSource<>(
            new SampleJob.GeneratedRows(seed, 16),
            rows,
            RateLimiterStrategy.noOp(),
            Types.TUPLE(Types.STRING, Types.LONG, Types.LONG, Types.STRING));
    WatermarkStrategy<Tuple4<String, Long, Long, String>> watermarks =
        WatermarkStrategy.<Tuple4<String, Long, Long, String>>forBoundedOutOfOrderness(SampleJob.OUT_OF_ORDERNESS)
            .withTimestampAssigner((row, previous) -> row.f2);
    return env.fromSource(source, watermarks, "src-" + site)
        .uid("src-" + site)
        .filter(row -> row.f1 >= 100)
        .name("filter-" + site)
        .uid("filter-" + site)
        .map(row -> Tuple3.of(row.f0, row.f1, row.f2))
        .returns(Types.TUPLE(Types.STRING, Types.LONG, Types.LONG))
        .name("anon-" + site)
        .uid("anon-" + site)
        .keyBy(row -> row.f0, Types.STRING)
        .window(TumblingEventTimeWindows.of(Duration.ofSeconds(1)))
        .aggregate(new SampleJob.Aggregates(), new SampleJob.WindowBounds())
        .name("window-" + site)
        .uid("window-" + site);
  }

  /** Counts window results: Ferry's collect sink keeps them for its reader, this one only counts. */
  static final class CountingSink implements Sink<SampleJob.Result> {
    // Sink#createWriter(InitContext) is the method Flink 1.20 still requires (see SampleJob.ProbeSink).
    @Override
    @SuppressWarnings("deprecation")
    public SinkWriter<SampleJob.Result> createWriter(InitContext context) throws IOException {
      return new SinkWriter<>() {
        @Override
        public void write(SampleJob.Result result, Context context) {
          RESULTS.incrementAndGet();
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public void close() {}
      };
    }
  }
}
