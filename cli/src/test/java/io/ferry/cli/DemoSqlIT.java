package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry demo --sql examples/demo.sql} end to end, small: three sites, the SQL's window at edge-a
 * moved to the cloud and back while data flows, the sink checked once-only against the reference.
 */
class DemoSqlIT {

  @TempDir Path dir;

  @Test
  void theDemoRunsItsQueryFromAnSqlFileWithBothMovesAndOnceOnly() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    // 10,000 rows per site at 1000/s: the moves start at 2,000 and 4,000 rows, while data flows,
    // even when starting the demo's volume takes a loaded machine a few seconds (the sources run
    // from the deploy on; with 4,000 rows a CI run saw them end before the second move).
    Demo.Options options = new Demo.Options(10_000, 1000, false, true, false, dir, Duration.ofSeconds(240), Optional.of(DemoSqlTest.DEMO_SQL), false);
    Demo.Result result = new Demo(options, out).run();
    String printed = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(printed);
    assertTrue(result.ok(), printed);
    assertTrue(printed.contains("ONCE-ONLY HOLDS"), printed);
    assertEquals(2, printed.lines().filter(l -> l.matches("  move \\[window-\\d+] .*: COMPLETED, .*")).count(), "both moves completed: " + printed);
    assertEquals(20_000, result.recordsIn());
    assertTrue(result.recordsOut() > 0 && result.sink().referenceRows() == result.recordsOut(), printed);
  }
}
