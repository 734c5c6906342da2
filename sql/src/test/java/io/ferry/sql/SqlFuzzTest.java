package io.ferry.sql;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.query.QueryId;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Bad SQL never crashes the compiler: random truncations, token swaps, deletions and duplications
 * of valid scripts either compile or fail with a SqlCompileException that has a position inside the
 * text. Anything else (an exception of another type, a position outside the text) fails the test
 * with the seed and the script that broke it.
 */
@ExtendWith(SeedExtension.class)
class SqlFuzzTest {
  static final int CASES = 400;

  static List<String> corpus() throws IOException {
    List<String> out = new ArrayList<>();
    out.add(Files.readString(SqlExamplesTest.ROOT.resolve("examples/demo.sql")));
    out.add(SqlCompilerTest.GEN + SqlCompilerTest.FILE_IN + SqlCompilerTest.SINK
        + "INSERT INTO sink SELECT L.`key`, L.window_start, L.`value`, R.temp\n"
        + "FROM (SELECT * FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND))) L\n"
        + "JOIN (SELECT * FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(t), INTERVAL '1' SECOND))) R\n"
        + "ON L.`key` = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end");
    out.add(SqlCompilerTest.GEN + SqlCompilerTest.SINK
        + "INSERT INTO sink SELECT UPPER(`key`) AS k, CASE WHEN `value` > 5 THEN CAST(`value` AS DOUBLE) ELSE 0.5 END AS v FROM s WHERE `value` BETWEEN 1 AND 9\n"
        + "UNION ALL SELECT `key`, CAST(`value` AS DOUBLE) FROM s");
    out.add(SqlCompilerTest.GEN + SqlCompilerTest.SINK
        + "INSERT INTO sink SELECT `key`, window_start, window_end, COUNT(*) AS n, COUNT(owner) AS c, AVG(`value` * 2) AS a FROM TABLE(HOP(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND))"
        + " GROUP BY `key`, window_start, window_end HAVING COUNT(*) > 2");
    return out;
  }

  @Test
  void mutatedScriptsNeverCrashTheCompiler(Seed seed) throws IOException {
    Random rnd = new Random(seed.value());
    List<String> corpus = corpus();
    int compiled = 0;
    for (int i = 0; i < CASES; i++) {
      String base = corpus.get(rnd.nextInt(corpus.size()));
      String mutated = mutate(base, rnd);
      try {
        new SqlCompiler().compile(mutated, new QueryId("fuzz"));
        compiled++;
      } catch (SqlCompileException e) {
        int lines = mutated.split("\n", -1).length;
        if (e.line() < 1 || e.line() > lines || e.column() < 1) {
          fail("position " + e.line() + ":" + e.column() + " is outside the text (" + lines + " lines): " + e.getMessage() + "\n" + mutated);
        }
        if (e.getMessage().contains("\n\tat ")) {
          fail("a stack trace in the message: " + e.getMessage());
        }
      } catch (Throwable t) {
        throw new AssertionError("case " + i + " crashed the compiler with " + t + "\n---\n" + mutated, t);
      }
    }
    assertTrue(compiled < CASES, "every mutation compiled: the mutations do nothing");
  }

  /** One of: truncate, swap two tokens, delete a token, duplicate a token, or replace a token with a random word. */
  static String mutate(String sql, Random rnd) {
    List<String> tokens = new ArrayList<>(List.of(sql.split("(?<=[\\s(),;])|(?=[\\s(),;])")));
    int n = tokens.size();
    switch (rnd.nextInt(5)) {
      case 0 -> {
        return sql.substring(0, rnd.nextInt(sql.length()));
      }
      case 1 -> {
        int a = rnd.nextInt(n);
        int b = rnd.nextInt(n);
        String t = tokens.get(a);
        tokens.set(a, tokens.get(b));
        tokens.set(b, t);
      }
      case 2 -> tokens.remove(rnd.nextInt(n));
      case 3 -> {
        int a = rnd.nextInt(n);
        tokens.add(a, tokens.get(a));
      }
      default -> tokens.set(rnd.nextInt(n), WORDS[rnd.nextInt(WORDS.length)]);
    }
    return String.join("", tokens);
  }

  static final String[] WORDS = {
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "(", ")", ",", ";", "'", "`", "NULL", "TABLE", "TUMBLE", "SESSION", "JOIN", "ON",
    "INTERVAL", "'1'", "SECOND", "*", "COUNT(*)", "CREATE", "WITH", "WATERMARK", "OVER", "ORDER", "LIMIT", "1e400", "-", "/*", "x.y.z"
  };
}
