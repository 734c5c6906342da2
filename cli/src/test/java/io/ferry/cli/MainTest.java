package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Argument handling only: every demo invocation here must fail before the demo starts. */
class MainTest {

  private static void assertUsageError(List<String> args, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Main.run(args));
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "message lacks '" + f + "': " + e.getMessage());
    }
  }

  @Test
  void helpPrintsUsageAndSucceeds() throws Exception {
    PrintStream saved = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      assertEquals(0, Main.run(List.of("help")));
      assertEquals(0, Main.run(List.of("--help")));
      assertEquals(0, Main.run(List.of()), "no command means help");
    } finally {
      System.setOut(saved);
    }
    assertTrue(buf.toString(StandardCharsets.UTF_8).contains("usage: ferry"), buf::toString);
  }

  @Test
  void unknownCommandIsAUsageError() {
    assertUsageError(List.of("frobnicate"), "unknown command 'frobnicate'", "usage:");
  }

  @Test
  void unknownDemoOptionIsAUsageError() {
    assertUsageError(List.of("demo", "--fast"), "unknown option '--fast'");
    assertUsageError(List.of("demo", "--records", "10", "--fast"), "unknown option '--fast'");
  }

  @Test
  void recordsMustBeAPositiveNumber() {
    assertUsageError(List.of("demo", "--records", "abc"), "--records", "number", "'abc'");
    assertUsageError(List.of("demo", "--records", "-1"), "--records", "negative", "-1");
    assertUsageError(List.of("demo", "--records", "0"), "--records", "positive");
    assertUsageError(List.of("demo", "--records"), "--records needs a value");
  }

  @Test
  void otherNumericOptionsAreChecked() {
    assertUsageError(List.of("demo", "--rate", "-5"), "--rate", "negative");
    assertUsageError(List.of("demo", "--timeout", "0"), "--timeout", "positive");
    assertUsageError(List.of("demo", "--timeout", "1.5"), "--timeout", "'1.5'");
  }
}
