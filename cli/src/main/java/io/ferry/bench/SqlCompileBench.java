package io.ferry.bench;

import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryId;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * How long the SQL compiler takes for a query of about 20 operators (parse, validate, build and
 * check the graph): four sources, each filtered, computed and windowed, joined in pairs and united
 * into one sink. Prints the median and the 90th percentile over the timed runs after a warm-up.
 */
public final class SqlCompileBench {
  private SqlCompileBench() {}

  static String query() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      b.append("CREATE TABLE s").append(i).append(" (`key` STRING, `value` BIGINT, ts TIMESTAMP(3), owner STRING WITH ('pii' = 'true'),")
          .append(" WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'generator', 'seed' = '").append(i).append("');\n");
    }
    b.append("CREATE TABLE sink WITH ('connector' = 'collect');\n");
    b.append("INSERT INTO sink\n");
    for (int pair = 0; pair < 2; pair++) {
      if (pair > 0) {
        b.append("UNION ALL\n");
      }
      b.append("SELECT A.`key`, A.window_start, A.n + B.n AS n, A.total, B.hot FROM\n");
      for (int side = 0; side < 2; side++) {
        int t = pair * 2 + side;
        if (side == 1) {
          b.append(" JOIN ");
        }
        b.append("(SELECT `key`, window_start, window_end, COUNT(*) AS n, SUM(`value` * 2) AS total, MAX(`value`) AS hot")
            .append(" FROM TABLE(TUMBLE(TABLE s").append(t).append(", DESCRIPTOR(ts), INTERVAL '10' SECOND))")
            .append(" WHERE `value` > ").append(10 * t).append(" AND UPPER(`key`) <> 'K0'")
            .append(" GROUP BY `key`, window_start, window_end) ").append(side == 0 ? "A" : "B").append("\n");
      }
      b.append(" ON A.`key` = B.`key` AND A.window_start = B.window_start AND A.window_end = B.window_end\n");
    }
    return b.toString();
  }

  /** Compiles {@code runs} times after {@code warmup} and prints the figures; returns the median in microseconds. */
  public static long run(int warmup, int runs, PrintStream out) {
    QueryCompiler compiler = QueryCompiler.require("sql");
    String sql = query();
    int nodes = compiler.compile(sql, new QueryId("bench")).graph().nodes().size();
    for (int i = 0; i < warmup; i++) {
      compiler.compile(sql, new QueryId("bench"));
    }
    long[] micros = new long[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      compiler.compile(sql, new QueryId("bench"));
      micros[i] = (System.nanoTime() - t0) / 1000;
    }
    Arrays.sort(micros);
    long median = micros[runs / 2];
    out.printf("sql compile: %d logic nodes, %d runs after %d warm-up: median %.2f ms, p90 %.2f ms%n",
        nodes, runs, warmup, median / 1000.0, micros[(int) (runs * 0.9)] / 1000.0);
    return median;
  }
}
