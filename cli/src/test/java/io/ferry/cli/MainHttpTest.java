package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Argument handling of {@code ferry status} and {@code ferry migrate}, and what they do when no member answers. */
class MainHttpTest {

  private static String usageError(List<String> args) {
    return assertThrows(IllegalArgumentException.class, () -> Main.run(args)).getMessage();
  }

  @Test
  void migrateNamesEachMissingOption() {
    String noTo = usageError(List.of("migrate", "--query", "q", "--node", "window-a"));
    assertTrue(noTo.contains("--to"), noTo);
    String noNode = usageError(List.of("migrate", "--query", "q", "--to", "cloud"));
    assertTrue(noNode.contains("--node"), noNode);
    String noQuery = usageError(List.of("migrate", "--node", "window-a", "--to", "cloud"));
    assertTrue(noQuery.contains("--query"), noQuery);
    String dangling = usageError(List.of("migrate", "--query", "q", "--node", "window-a", "--to"));
    assertTrue(dangling.contains("--to needs a value"), dangling);
  }

  @Test
  void unknownOptionsAndBadUrlsAreUsageErrors() {
    assertTrue(usageError(List.of("status", "--verbose")).contains("unknown option '--verbose'"));
    assertTrue(usageError(List.of("migrate", "--query", "q", "--site", "cloud")).contains("unknown option '--site'"));
    String badUrl = usageError(List.of("status", "--url", "127.0.0.1:8558"));
    assertTrue(badUrl.contains("--url") && badUrl.contains("http://"), badUrl);
  }

  @Test
  void statusWithNothingListeningExplainsAndExitsOne() throws Exception {
    PrintStream saved = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.run(List.of("status", "--url", "http://127.0.0.1:1"));
    } finally {
      System.setErr(saved);
    }
    assertEquals(1, code);
    String err = buf.toString(StandardCharsets.UTF_8);
    assertTrue(err.contains("no Ferry member answers at http://127.0.0.1:1") && err.contains("./ferry demo --hold"), err);
  }
}
