package io.ferry.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** One {@code ferry} command run in this JVM as the launcher would run it: its exit code and what it printed. */
record CliRun(int exit, String out, String err) {

  static {
    // logging starts (and its appender takes the runner's stdout) before the first command swaps System.out
    org.slf4j.LoggerFactory.getILoggerFactory();
  }

  static CliRun of(String... args) {
    PrintStream savedOut = System.out;
    PrintStream savedErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int exit;
    try {
      exit = Main.run(List.of(args));
    } finally {
      System.setOut(savedOut);
      System.setErr(savedErr);
    }
    return new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
