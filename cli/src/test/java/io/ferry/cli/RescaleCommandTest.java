package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code ferry rescale}: what it needs, what it refuses before sending, and what it says when no member answers. */
class RescaleCommandTest {
  static final String NOBODY = "http://127.0.0.1:9/";

  @Test
  void namesWhatIsMissingAndRefusesBadValuesBeforeSending() {
    CliRun noParallelism = CliRun.of("rescale", "--query", "q", "--node", "w");
    assertEquals(2, noParallelism.exit(), noParallelism::toString);
    assertTrue(noParallelism.err().contains("'--parallelism=P'"), noParallelism::err);
    CliRun zero = CliRun.of("rescale", "--url", NOBODY, "--query", "q", "--node", "w", "--parallelism", "0");
    assertEquals(2, zero.exit(), zero::toString);
    assertTrue(zero.err().contains("--parallelism must be 1..32"), zero::err);
    CliRun badNode = CliRun.of("rescale", "--url", NOBODY, "--query", "q", "--node", "a b", "--parallelism", "2");
    assertEquals(2, badNode.exit(), badNode::toString);
    assertTrue(badNode.err().contains("'a b'"), badNode::err);
  }

  @Test
  void noMemberListeningIsExplainedWithExitOne() {
    CliRun run = CliRun.of("rescale", "--url", NOBODY, "--query", "q", "--node", "w", "--parallelism", "2");
    assertEquals(1, run.exit(), run::toString);
    assertTrue(run.err().startsWith("ferry: "), run::err);
    CliRun help = CliRun.of("help", "rescale");
    assertTrue(help.out().contains("--parallelism=P") && help.out().contains("keyed node"), help::out);
  }
}
