package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument handling, help and version: every demo invocation here must fail before the demo starts. */
class MainTest {

  /** Every command the launcher documents; each must answer --help. */
  private static final List<String> COMMANDS =
      List.of("demo", "node", "submit", "status", "migrate", "volume", "simulate", "bench", "bench-moves", "bench-volume", "bench-journal",
          "completion", "token", "bench-security", "help");

  private static void assertUsageError(CliRun run, String... fragments) {
    assertEquals(2, run.exit(), run::toString);
    for (String f : fragments) {
      assertTrue(run.err().contains(f), () -> "error lacks '" + f + "': " + run.err());
    }
  }

  @Test
  void helpListsEveryCommandAndSucceeds() {
    for (CliRun run : List.of(CliRun.of("help"), CliRun.of("--help"), CliRun.of("-h"), CliRun.of())) {
      assertEquals(0, run.exit(), run::toString);
      assertTrue(run.out().startsWith("Usage: ferry"), run::out);
      for (String command : COMMANDS) {
        assertTrue(run.out().contains("\n  " + command + " "), () -> "help lacks " + command + ": " + run.out());
      }
    }
  }

  @Test
  void everyCommandAndSubcommandAnswersHelp() {
    for (String command : COMMANDS) {
      CliRun run = CliRun.of(command, "--help");
      assertEquals(0, run.exit(), run::toString);
      assertTrue(run.out().contains("Usage: ferry " + command), run::out);
    }
    for (String verb : List.of("start", "status", "stop")) {
      CliRun run = CliRun.of("volume", verb, "--help");
      assertEquals(0, run.exit(), run::toString);
      assertTrue(run.out().startsWith("Usage: ferry volume " + verb), run::out);
    }
    CliRun migrate = CliRun.of("help", "migrate");
    assertTrue(migrate.out().contains("--query") && migrate.out().contains("--to=SITE"), migrate::out);
  }

  @Test
  void versionNamesTheRelease() {
    CliRun run = CliRun.of("--version");
    assertEquals(0, run.exit(), run::toString);
    assertTrue(run.out().matches("(?s)ferry \\d+\\.\\d+\\.\\d+.*"), run::out);
  }

  @Test
  void completionIsABashScriptCoveringTheCommands() {
    CliRun run = CliRun.of("completion");
    assertEquals(0, run.exit(), run::toString);
    assertTrue(run.out().startsWith("#!/usr/bin/env bash"), run::out);
    assertTrue(run.out().contains("complete -F") && run.out().contains("simulate") && run.out().contains("--no-moves"), run::out);
  }

  @Test
  void unknownCommandIsAUsageError() {
    assertUsageError(CliRun.of("frobnicate"), "'frobnicate'");
  }

  @Test
  void unknownDemoOptionIsAUsageError() {
    assertUsageError(CliRun.of("demo", "--fast"), "Unknown option: '--fast'", "Usage: ferry demo");
    assertUsageError(CliRun.of("demo", "--records", "10", "--fast"), "Unknown option: '--fast'");
  }

  @Test
  void recordsMustBeAPositiveNumber() {
    assertUsageError(CliRun.of("demo", "--records", "abc"), "--records", "whole number", "'abc'");
    assertUsageError(CliRun.of("demo", "--records", "-1"), "--records", "negative", "-1");
    assertUsageError(CliRun.of("demo", "--records", "0"), "--records", "positive");
    assertUsageError(CliRun.of("demo", "--records"), "Missing required parameter for option '--records'");
  }

  @Test
  void otherNumericOptionsAreChecked() {
    assertUsageError(CliRun.of("demo", "--rate", "-5"), "--rate", "negative");
    assertUsageError(CliRun.of("demo", "--timeout", "0"), "--timeout", "positive");
    assertUsageError(CliRun.of("demo", "--timeout", "1.5"), "--timeout", "'1.5'");
    assertUsageError(CliRun.of("bench", "many"), "ROWS_PER_SOURCE", "'many'");
  }

  @Test
  void badNamesAreUsageErrorsBeforeAnythingIsSent() {
    // The URL is never reached: each name is checked against its type's rule first.
    String url = "http://127.0.0.1:9/";
    assertUsageError(CliRun.of("migrate", "--url", url, "--query", "q", "--node", "a b", "--to", "cloud"), "'a b'");
    assertUsageError(CliRun.of("migrate", "--url", url, "--query", "q", "--node", "a", "--to", "Cloud One"), "'Cloud One'");
    assertUsageError(CliRun.of("volume", "status", "--url", url, "../health"), "'../health'");
  }

  @Test
  void nodeNeedsAReadableConfiguration() {
    assertUsageError(CliRun.of("node"), "--config");
    assertUsageError(CliRun.of("node", "--config", "/nonexistent/member.conf"), "ferry node: cannot read", "/nonexistent/member.conf");
  }

  @Test
  void simulateChecksItsTierAndScenario() {
    assertUsageError(CliRun.of("simulate", "--tier", "chaos"), "--tier must be deterministic or real-stack, got chaos");
    assertUsageError(CliRun.of("simulate", "--tier", "real-stack"), "needs --scenario FILE");
    assertUsageError(CliRun.of("simulate", "--runs", "0"), "--runs must be between 1 and");
  }

  @Test
  void simulateRefusesAFlagOfTheOtherTier() {
    assertUsageError(CliRun.of("simulate", "--scenario", "config/scenarios/mixed-chaos.conf", "--no-dedup"),
        "--no-dedup is for the deterministic tier only");
    assertUsageError(CliRun.of("simulate", "--tier", "real-stack", "--scenario", "config/scenarios/mixed-chaos.conf", "--no-dedup"),
        "--no-dedup is for the deterministic tier only");
    assertUsageError(CliRun.of("simulate", "--keep"), "--keep is for the real-stack tier only");
    assertUsageError(CliRun.of("simulate", "--tier", "deterministic", "--keep", "--seed", "3"), "--keep is for the real-stack tier only");
  }

  @Test
  void aRunsDirectoryIsDeletedWholeAndAMissingOneIsNoError(@TempDir Path tmp) throws Exception {
    Path run = tmp.resolve("ferry-chaos-7-x");
    Files.createDirectories(run.resolve("data").resolve("store"));
    Files.writeString(run.resolve("archive.jsonl"), "{}\n");
    Files.writeString(run.resolve("data").resolve("store").resolve("segment-0"), "blocks");
    Simulate.deleteTree(run);
    assertFalse(Files.exists(run), "the run's directory and everything in it are gone");
    assertTrue(Files.exists(tmp), "only the run's directory is deleted");
    Simulate.deleteTree(run);
  }
}
