package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code ferry volume cutover|pause|resume|abort|reverse|policy}: arguments, and no member answering. */
class VolumeControlCommandsTest {

  @Test
  void eachVerbNeedsAVolumeAndPolicyAKnownWord() {
    for (String verb : new String[] {"cutover", "pause", "resume", "abort", "reverse"}) {
      CliRun run = CliRun.of("volume", verb);
      assertEquals(2, run.exit(), run::toString);
      assertTrue(run.err().contains("needs a volume id"), run::err);
    }
    CliRun noSet = CliRun.of("volume", "policy", "v1");
    assertEquals(2, noSet.exit(), noSet::toString);
    assertTrue(noSet.err().contains("--set"), noSet::err);
    CliRun bad = CliRun.of("volume", "policy", "v1", "--set", "sideways", "--url", "http://127.0.0.1:1");
    assertEquals(2, bad.exit(), bad::toString);
    assertTrue(bad.err().contains("target-only") && bad.err().contains("write-back"), "the error lists the policies: " + bad.err());
  }

  @Test
  void aVerbWithNothingListeningExplainsAndExitsOne() {
    CliRun run = CliRun.of("volume", "cutover", "v1", "--url", "http://127.0.0.1:1");
    assertEquals(1, run.exit(), run::toString);
    assertTrue(run.err().contains("no Ferry member answers at http://127.0.0.1:1"), run::err);
  }
}
