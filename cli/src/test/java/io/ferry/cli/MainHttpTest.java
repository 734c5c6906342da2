package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Argument handling of the commands that talk to a member's management endpoint, and what they do when no member answers. */
class MainHttpTest {

  private static String usageError(String... args) {
    CliRun run = CliRun.of(args);
    assertEquals(2, run.exit(), run::toString);
    return run.err();
  }

  @Test
  void migrateNamesEachMissingOption() {
    String noTo = usageError("migrate", "--query", "q", "--node", "window-a");
    assertTrue(noTo.contains("Missing required option: '--to=SITE'"), noTo);
    String noNode = usageError("migrate", "--query", "q", "--to", "cloud");
    assertTrue(noNode.contains("'--node=N'"), noNode);
    String noQuery = usageError("migrate", "--node", "window-a", "--to", "cloud");
    assertTrue(noQuery.contains("'--query=Q'"), noQuery);
    String dangling = usageError("migrate", "--query", "q", "--node", "window-a", "--to");
    assertTrue(dangling.contains("Missing required parameter for option '--to'"), dangling);
  }

  @Test
  void unknownOptionsAndBadUrlsAreUsageErrors() {
    assertTrue(usageError("status", "--verbose").contains("Unknown option: '--verbose'"));
    assertTrue(usageError("migrate", "--query", "q", "--node", "w", "--to", "cloud", "--site", "cloud").contains("Unknown options: '--site', 'cloud'"));
    String badUrl = usageError("status", "--url", "127.0.0.1:8558");
    assertTrue(badUrl.contains("--url") && badUrl.contains("http://"), badUrl);
  }

  @Test
  void volumeAndSubmitNameWhatTheyNeed() {
    assertTrue(usageError("volume").contains("Missing required subcommand"));
    assertTrue(usageError("volume", "status").contains("needs a volume id"));
    assertTrue(usageError("volume", "start", "v1", "--path", "/tmp/x.img", "--target-site", "cloud").contains("'--source-site=SITE'"));
    assertTrue(usageError("submit").contains("--file"));
    assertTrue(usageError("submit", "--sample", "--file", "q.json").contains("mutually exclusive"));
  }

  @Test
  void statusWithNothingListeningExplainsAndExitsOne() {
    CliRun run = CliRun.of("status", "--url", "http://127.0.0.1:1");
    assertEquals(1, run.exit(), run::toString);
    assertTrue(run.err().contains("no Ferry member answers at http://127.0.0.1:1") && run.err().contains("./ferry demo --hold"), run::err);
  }
}
