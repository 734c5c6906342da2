package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry demo --sql}: what the demo makes of an SQL file, and bad SQL refused before any member starts. */
class DemoSqlTest {
  static final Path DEMO_SQL = Path.of(System.getProperty("user.dir")).getParent().resolve("examples/demo.sql");

  private static Demo.Options options(Path sql, Path dir) {
    return new Demo.Options(1234, 77, false, true, false, dir, Duration.ofSeconds(60), Optional.of(sql), false);
  }

  @Test
  void theDemoSqlRunsAtTheDemosSizeAndMovesAWindowAtEdgeA(@TempDir Path dir) throws Exception {
    Demo.Plan plan = Demo.plan(options(DEMO_SQL, dir), dir.resolve("archive.jsonl"));
    long generators = plan.graph().nodes().stream().filter(n -> n.op() instanceof OperatorSpec.Generate).count();
    assertEquals(2, generators);
    for (var n : plan.graph().nodes()) {
      if (n.op() instanceof OperatorSpec.Generate g) {
        assertEquals(1234, g.count(), "--records replaces the SQL's count");
        assertEquals(77, g.ratePerSecond(), "--rate replaces the SQL's rate");
      }
    }
    var moved = plan.graph().nodes().stream().filter(n -> n.id().equals(plan.moved())).findFirst().orElseThrow();
    assertInstanceOf(OperatorSpec.Window.class, moved.op());
    assertEquals("edge-a", plan.placement().sites().get(plan.moved().value()));
    assertEquals("out", plan.sink().value());
    assertTrue(plan.archive().isEmpty(), "the SQL declares no archive");
  }

  @Test
  void sqlTheDemoCannotRunIsRefusedWithItsPosition(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.sql");
    Files.writeString(bad, Files.readString(DEMO_SQL).replace("SUM(`value`) AS total", "SUM(`valu`) AS total"));
    QueryException e = assertThrows(QueryException.class, () -> Demo.plan(options(bad, dir), dir.resolve("a.jsonl")));
    assertTrue(e.getMessage().contains("line") && e.getMessage().contains("valu"), e::getMessage);

    Path elsewhere = dir.resolve("elsewhere.sql");
    Files.writeString(elsewhere, Files.readString(DEMO_SQL).replace("'site' = 'edge-b'", "'site' = 'edge-c'"));
    QueryException sites = assertThrows(QueryException.class, () -> Demo.plan(options(elsewhere, dir), dir.resolve("a.jsonl")));
    assertTrue(sites.getMessage().contains("edge-c"), sites::getMessage);

    CliRun run = CliRun.of("demo", "--sql", bad.toString(), "--data", dir.resolve("data").toString());
    assertEquals(1, run.exit(), run::toString);
    assertTrue(run.err().startsWith("ferry: " + bad + ": ") && run.err().contains("line"), run::err);
    assertFalse(run.out().contains("starting members"), "no member starts for SQL the demo cannot run: " + run.out());
    assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
  }
}
