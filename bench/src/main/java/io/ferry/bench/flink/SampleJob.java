package io.ferry.bench.flink;

import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.GeneratorReader;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * One edge chain of Ferry's sample query ({@code io.ferry.cli.SampleQuery}) in Flink's DataStream
 * API: seeded source, {@code value >= 100}, drop {@code owner}, keyed tumbling event-time window
 * (count/sum/min/max/avg), sink. {@link FlinkMoveBench} builds a fresh job graph per (re)submission.
 */
final class SampleJob {
  /** Event time of row 0, as in the sample query. */
  static final long START_MS = 1_700_000_000_000L;
  /** Event-time advance per row and the jitter of each row's time, as in the sample query. */
  static final long STEP_MS = 2;
  static final long DISORDER_MS = 300;
  /** Bounded out-of-orderness of the watermark: the sample query's allowed lateness. */
  static final Duration OUT_OF_ORDERNESS = Duration.ofMillis(200);

  /**
   * Instrumentation shared with the bench through static fields: a MiniCluster runs the tasks in
   * this JVM and, with no user jars, loads user classes through the application class loader.
   * Each holds the {@link System#nanoTime()} of the first record seen since the last {@link
   * #resetProbes()}, 0 for none yet.
   */
  static final AtomicLong FIRST_AT_WINDOW_NANOS = new AtomicLong();

  static final AtomicLong FIRST_AT_SINK_NANOS = new AtomicLong();

  /** Rows the window has taken in, over all jobs: shows the paced source keeps its rate. */
  static final AtomicLong ROWS_AT_WINDOW = new AtomicLong();

  private SampleJob() {}

  static void resetProbes() {
    FIRST_AT_WINDOW_NANOS.set(0);
    FIRST_AT_SINK_NANOS.set(0);
  }

  /**
   * @param seed the generator's seed (11 is site a's in the sample query)
   * @param keys distinct keys (16 in the sample query)
   * @param window tumbling window size (1 s in the sample query)
   * @param ratePerSecond rows per second the source emits at most
   */
  record Shape(long seed, int keys, Duration window, long ratePerSecond) {}

  /**
   * The job graph for {@code shape}; {@code config} carries checkpointing and state settings. The
   * caller sets the savepoint to restore from on the returned graph.
   */
  static JobGraph jobGraph(Shape shape, Configuration config) {
    return jobGraph(shape, config, 1);
  }

  /**
   * Flink's key groups, fixed across rescales so a savepoint restores at any parallelism up to it;
   * the same count as Ferry's {@code KeyGroups}.
   */
  static final int MAX_PARALLELISM = 128;

  /** As {@link #jobGraph(Shape, Configuration)} with the keyed window at {@code windowParallelism} subtasks. */
  static JobGraph jobGraph(Shape shape, Configuration config, int windowParallelism) {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
    // One subtask per operator, as Ferry runs one logic node per operator.
    env.setParallelism(1);

    DataGeneratorSource<Tuple4<String, Long, Long, String>> source =
        new DataGeneratorSource<>(
            new GeneratedRows(shape.seed(), shape.keys()),
            Long.MAX_VALUE,
            RateLimiterStrategy.perSecond(shape.ratePerSecond()),
            Types.TUPLE(Types.STRING, Types.LONG, Types.LONG, Types.STRING));

    WatermarkStrategy<Tuple4<String, Long, Long, String>> watermarks =
        WatermarkStrategy.<Tuple4<String, Long, Long, String>>forBoundedOutOfOrderness(OUT_OF_ORDERNESS)
            .withTimestampAssigner((row, previous) -> row.f2);

    env.fromSource(source, watermarks, "src-a")
        .uid("src-a")
        .filter(row -> row.f1 >= 100)
        .name("filter-a")
        .uid("filter-a")
        // The owner is PII; it is dropped before the window, as in the sample query.
        .map(row -> Tuple3.of(row.f0, row.f1, row.f2))
        .returns(Types.TUPLE(Types.STRING, Types.LONG, Types.LONG))
        .name("anon-a")
        .uid("anon-a")
        .keyBy(row -> row.f0, Types.STRING)
        .window(TumblingEventTimeWindows.of(shape.window()))
        .aggregate(new Aggregates(), new WindowBounds())
        .name("window-a")
        .uid("window-a")
        .setParallelism(windowParallelism)
        .setMaxParallelism(MAX_PARALLELISM)
        .sinkTo(new ProbeSink())
        .name("out")
        .uid("out");
    return env.getStreamGraph().getJobGraph();
  }

  /** Row {@code i} of Ferry's seeded generator, as (key, value, ts, owner). */
  static final class GeneratedRows implements GeneratorFunction<Long, Tuple4<String, Long, Long, String>> {
    private final long seed;
    private final int keys;
    private transient GeneratorReader reader;

    GeneratedRows(long seed, int keys) {
      this.seed = seed;
      this.keys = keys;
    }

    @Override
    public void open(SourceReaderContext context) {
      // Pacing is Flink's rate limiter's job, so the spec's rate is 0 here, as for Ferry's reader.
      reader = new GeneratorReader(new OperatorSpec.Generate(seed, keys, -1, START_MS, STEP_MS, DISORDER_MS, 0));
    }

    @Override
    public Tuple4<String, Long, Long, String> map(Long i) {
      Row row = reader.read(i, 1).rows().get(0);
      return Tuple4.of((String) row.get(0), (Long) row.get(1), (Long) row.get(2), (String) row.get(3));
    }
  }

  /** The window's running aggregates; a POJO so Flink serializes it without Kryo. */
  public static final class Acc {
    public long n;
    public long total;
    public long low = Long.MAX_VALUE;
    public long high = Long.MIN_VALUE;

    public Acc() {}
  }

  /** One window result: key, window bounds, then count, sum, min, max, avg. */
  public static final class Result {
    public String key;
    public long windowStart;
    public long windowEnd;
    public long n;
    public long total;
    public long low;
    public long high;
    public double mean;

    public Result() {}
  }

  static final class Aggregates implements AggregateFunction<Tuple3<String, Long, Long>, Acc, Acc> {
    @Override
    public Acc createAccumulator() {
      return new Acc();
    }

    @Override
    public Acc add(Tuple3<String, Long, Long> row, Acc acc) {
      if (FIRST_AT_WINDOW_NANOS.get() == 0) {
        FIRST_AT_WINDOW_NANOS.compareAndSet(0, System.nanoTime());
      }
      ROWS_AT_WINDOW.incrementAndGet();
      long v = row.f1;
      acc.n++;
      acc.total += v;
      acc.low = Math.min(acc.low, v);
      acc.high = Math.max(acc.high, v);
      return acc;
    }

    @Override
    public Acc getResult(Acc acc) {
      return acc;
    }

    @Override
    public Acc merge(Acc a, Acc b) {
      a.n += b.n;
      a.total += b.total;
      a.low = Math.min(a.low, b.low);
      a.high = Math.max(a.high, b.high);
      return a;
    }
  }

  static final class WindowBounds extends ProcessWindowFunction<Acc, Result, String, TimeWindow> {
    @Override
    public void process(String key, Context context, Iterable<Acc> accs, Collector<Result> out) {
      Acc acc = accs.iterator().next();
      Result r = new Result();
      r.key = key;
      r.windowStart = context.window().getStart();
      r.windowEnd = context.window().getEnd();
      r.n = acc.n;
      r.total = acc.total;
      r.low = acc.low;
      r.high = acc.high;
      r.mean = (double) acc.total / acc.n;
      out.collect(r);
    }
  }

  /** Discards results, noting when the first one arrives. */
  static final class ProbeSink implements Sink<Result> {
    // Sink#createWriter(InitContext) is the method Flink 1.20 still requires; its replacement
    // createWriter(WriterInitContext) delegates to it by default.
    @Override
    @SuppressWarnings("deprecation")
    public SinkWriter<Result> createWriter(InitContext context) throws IOException {
      return new SinkWriter<>() {
        @Override
        public void write(Result result, Context context) {
          if (FIRST_AT_SINK_NANOS.get() == 0) {
            FIRST_AT_SINK_NANOS.compareAndSet(0, System.nanoTime());
          }
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public void close() {}
      };
    }
  }
}
