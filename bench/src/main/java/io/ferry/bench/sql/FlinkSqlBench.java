package io.ferry.bench.sql;

import com.typesafe.config.ConfigFactory;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryId;
import io.ferry.query.ops.GeneratorReader;
import io.ferry.query.ops.SourceReader;
import io.ferry.runtime.local.LocalEngine;
import java.lang.management.ManagementFactory;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The same SQL (a tumbling window, a hopping window, and a window join of two windowed
 * aggregations) in Flink SQL on a MiniCluster and in Ferry (SQL compiler + local engine), on the
 * same generated input in one run: the results are checked identical (as sorted multisets; the
 * input has no late rows, since Flink's periodic watermarks and Ferry's per-row watermark judge
 * lateness at different moments), and rows/s per CPU-second of the process is printed for each
 * with the ratio.
 *
 * <p>Arguments: {@code --rows=N} rows per source (default 200000).
 */
public final class FlinkSqlBench {
  static final long START_MS = 1_700_000_000_000L;
  static final String TUMBLE =
      "SELECT `key`, window_start, window_end, COUNT(*) AS n, SUM(`value`) AS total, MIN(`value`) AS low, MAX(`value`) AS high\n"
          + "FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`, window_start, window_end";
  static final String HOP =
      "SELECT `key`, window_start, window_end, COUNT(*) AS n, SUM(`value`) AS total\n"
          + "FROM TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) GROUP BY `key`, window_start, window_end";
  static final String JOIN =
      "SELECT A.`key`, A.window_start, A.n, B.total FROM\n"
          + "(SELECT `key`, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`, window_start, window_end) A\n"
          + "JOIN (SELECT `key`, window_start, window_end, SUM(`value`) AS total FROM TABLE(TUMBLE(TABLE src2, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`, window_start, window_end) B\n"
          + "ON A.`key` = B.`key` AND A.window_start = B.window_start AND A.window_end = B.window_end";

  private FlinkSqlBench() {}

  static OperatorSpec.Generate generate(long seed, long rows) {
    return new OperatorSpec.Generate(seed, 16, rows, START_MS, 2, 0, 0);
  }

  static String ddl(String table, long seed, long rows) {
    return "CREATE TABLE " + table + " (`key` STRING, `value` BIGINT, ts TIMESTAMP(3), owner STRING WITH ('pii' = 'true'),"
        + " WATERMARK FOR ts AS ts) WITH ('connector' = 'generator', 'seed' = '" + seed + "', 'keys' = '16', 'count' = '" + rows
        + "', 'start-ms' = '" + START_MS + "', 'step-ms' = '2');\n";
  }

  public static void main(String[] args) throws Exception {
    long rows = 200_000;
    for (String a : args) {
      if (a.startsWith("--rows=")) {
        rows = Long.parseLong(a.substring(7));
      } else {
        throw new IllegalArgumentException("unknown argument " + a + "; known: --rows=N");
      }
    }
    System.out.printf("input: %d rows per source (16 keys, 2 ms apart, in order), %d cores%n", rows, Runtime.getRuntime().availableProcessors());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench", ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    try {
      for (String[] q : new String[][] {{"tumble", TUMBLE, "1"}, {"hop", HOP, "1"}, {"window join", JOIN, "2"}}) {
        long inputRows = rows * Long.parseLong(q[2]);
        // Each side twice, the first as warm-up.
        ferry(q[1], rows, system);
        flink(q[1], rows);
        Measured fe = ferry(q[1], rows, system);
        Measured fl = flink(q[1], rows);
        boolean same = fe.rows().equals(fl.rows());
        double feRate = inputRows / fe.cpuSeconds();
        double flRate = inputRows / fl.cpuSeconds();
        System.out.printf("%-12s results %s (%d rows)  ferry %,.0f rows/s per core (%.2f s wall, %.2f s cpu)  flink %,.0f rows/s per core (%.2f s wall, %.2f s cpu)  ferry/flink %.2f%n",
            q[0], same ? "identical" : "DIFFER", fe.rows().size(), feRate, fe.wallSeconds(), fe.cpuSeconds(), flRate, fl.wallSeconds(), fl.cpuSeconds(), feRate / flRate);
        if (!same) {
          System.out.println("  ferry first: " + fe.rows().subList(0, Math.min(3, fe.rows().size())));
          System.out.println("  flink first: " + fl.rows().subList(0, Math.min(3, fl.rows().size())));
          System.exit(1);
        }
      }
    } finally {
      system.terminate();
    }
  }

  record Measured(List<String> rows, double wallSeconds, double cpuSeconds) {}

  static double cpuSeconds() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
  }

  static Measured ferry(String select, long rows, ActorSystem<Void> system) throws Exception {
    String sql = ddl("src", 11, rows) + ddl("src2", 23, rows) + select;
    double cpu0 = cpuSeconds();
    long t0 = System.nanoTime();
    QueryCompiler.Compiled c = QueryCompiler.require("sql").compile(sql, new QueryId("bench"));
    List<io.ferry.query.Row> out = LocalEngine.start(c.graph(), system).result().toCompletableFuture().get(10, TimeUnit.MINUTES)
        .sinks().get(new NodeId("result"));
    double wall = (System.nanoTime() - t0) / 1e9;
    double cpu = cpuSeconds() - cpu0;
    List<String> text = new ArrayList<>();
    for (io.ferry.query.Row r : out) {
      List<String> cells = new ArrayList<>();
      for (int i = 0; i < r.size(); i++) {
        cells.add(String.valueOf(r.get(i)));
      }
      text.add(String.join(",", cells));
    }
    text.sort(null);
    return new Measured(text, wall, cpu);
  }

  static DataStream<Row> source(StreamExecutionEnvironment env, long seed, long rows) {
    long chunk = 1000;
    return env.fromSequence(0, (rows + chunk - 1) / chunk - 1)
        .flatMap((Long i, org.apache.flink.util.Collector<Row> out) -> {
          // Built here, in the task: Ferry's specs are not Java-serializable.
          try (SourceReader r = new GeneratorReader(generate(seed, rows))) {
            for (io.ferry.query.Row x : r.read(i * chunk, (int) Math.min(chunk, rows - i * chunk)).rows()) {
              out.collect(Row.of(x.get(0), x.get(1), x.get(2)));
            }
          }
        })
        .returns(Types.ROW_NAMED(new String[] {"key", "value", "tsms"}, Types.STRING, Types.LONG, Types.LONG))
        .assignTimestampsAndWatermarks(WatermarkStrategy.<Row>forMonotonousTimestamps().withTimestampAssigner((r, t) -> (Long) r.getField(2)));
  }

  static Measured flink(String select, long rows) throws Exception {
    double cpu0 = cpuSeconds();
    long t0 = System.nanoTime();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    StreamTableEnvironment t = StreamTableEnvironment.create(env);
    t.getConfig().setLocalTimeZone(ZoneOffset.UTC);
    for (String[] s : new String[][] {{"src", "11"}, {"src2", "23"}}) {
      Table table = t.fromDataStream(source(env, Long.parseLong(s[1]), rows),
          Schema.newBuilder()
              .column("key", DataTypes.STRING())
              .column("value", DataTypes.BIGINT())
              .column("tsms", DataTypes.BIGINT())
              .columnByMetadata("ts", DataTypes.TIMESTAMP_LTZ(3), "rowtime")
              .watermark("ts", "SOURCE_WATERMARK()")
              .build());
      t.createTemporaryView(s[0], table);
    }
    TableResult result = t.executeSql(select);
    List<String> text = new ArrayList<>();
    try (CloseableIterator<Row> it = result.collect()) {
      while (it.hasNext()) {
        Row r = it.next();
        List<String> cells = new ArrayList<>();
        for (int i = 0; i < r.getArity(); i++) {
          Object v = r.getField(i);
          cells.add(v instanceof LocalDateTime d ? String.valueOf(d.toInstant(ZoneOffset.UTC).toEpochMilli()) : String.valueOf(v));
        }
        text.add(String.join(",", cells));
      }
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    double cpu = cpuSeconds() - cpu0;
    text.sort(null);
    return new Measured(text, wall, cpu);
  }
}
