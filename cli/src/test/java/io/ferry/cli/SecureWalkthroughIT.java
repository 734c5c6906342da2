package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The README's secured cluster walk-through, run by {@code scripts/walkthrough-secure} as a user
 * would: Cassandra, scripts/dev-ca, ferry token, four {@code ferry node} processes over mutual TLS
 * with HTTPS and tokens, submit, status, migrate, refusals, SIGTERM. Only with
 * {@code -Dferry.walkthrough=on}: it takes about three minutes and needs the README's fixed ports.
 */
@EnabledIfSystemProperty(named = "ferry.walkthrough", matches = "on")
class SecureWalkthroughIT {

  /** The script's own bounds (start, stop) are inside this; it is only the test's last resort. */
  private static final long RUN_MINUTES_MAX = 15;

  @Test
  void theSecuredWalkthroughRunsEndToEnd() throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    Path out = Files.createTempFile("walkthrough-secure", ".log");
    Process p = new ProcessBuilder("bash", root.resolve("scripts/walkthrough-secure").toString())
        .directory(root.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    boolean ended = p.waitFor(RUN_MINUTES_MAX, TimeUnit.MINUTES);
    if (!ended) {
      // SIGTERM lets the script's trap stop the members it started.
      p.destroy();
      p.waitFor(2, TimeUnit.MINUTES);
    }
    String log = Files.readString(out, StandardCharsets.UTF_8);
    System.out.println(log);
    assertTrue(ended, "the walk-through did not end within " + RUN_MINUTES_MAX + " minutes");
    assertEquals(0, p.exitValue(), "the walk-through failed; its output:\n" + log);
    for (String step : new String[] {
        "4 members Up over mutual TLS", "refused: no token (401), read-only token deploying (403)",
        "query deployed, window-a moved edge-a -> cloud", "4 members stopped within", "OK: the secured walk-through ran end to end"}) {
      assertTrue(log.contains("walkthrough: " + step), "no line '" + step + "' in:\n" + log);
    }
  }
}
