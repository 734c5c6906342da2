package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.bench.FailoverBench;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover after kill -9, between member processes with the default (lan) settings: the member
 * that hosts {@code window-a} is killed twice (each time the one that took over), and started again
 * with the same address a second later. Each time every node it hosted outputs new rows at another
 * member; the lifecycle lines of every member show no node running at two members at once (a
 * killed instance counted as running until the kill); the archive holds every window result
 * exactly once. About four minutes on two busy cores, so it runs with {@code -DfailoverProcesses=true}.
 */
@EnabledIfSystemProperty(named = "failoverProcesses", matches = "true")
class FailoverProcessIT {
  private static final int KILLS = 2;

  @TempDir Path dir;

  @Test
  void kill9FailsOverWithOneOwnerPerNodeAndNothingLostOrRepeated() throws Exception {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    FailoverBench.Result r;
    try (PrintStream out = new PrintStream(text, true, StandardCharsets.UTF_8)) {
      r = FailoverBench.run(dir, KILLS, 1_000, "", out);
      FailoverBench.print(r, out);
    }
    System.out.print(text.toString(StandardCharsets.UTF_8));
    assertEquals(KILLS, r.kills().size());
    for (FailoverBench.Kill k : r.kills()) {
      assertFalse(k.nodes().isEmpty(), "the victim hosted window-a at least");
      // The failover happened (run throws when no new output comes within its timeout): the victim
      // was downed by the crash probe (its leader's port sweep, usually before the failure detector
      // calls it unreachable) or the resolver, or replaced by its own new incarnation (Pekko downs
      // the old one then), and its nodes started again.
      boolean replacedByItself = k.nowAt().values().stream().anyMatch(at -> at.startsWith("restarted"));
      assertTrue((k.steps().containsKey("downed") || replacedByItself) && k.steps().containsKey("removed") && k.steps().containsKey("started"),
          "steps of " + k.victim() + ": " + k.steps() + ", now at " + k.nowAt());
    }
    assertTrue(r.overlaps().isEmpty(), "a node ran at two members at once: " + r.overlaps());
    // Ten nodes started once, and the victim's four again after each kill.
    assertTrue(r.instances().size() >= 10 + KILLS * 4, "instances read from the members' logs: " + r.instances().size());
    assertTrue(r.onceOnly().ok(), r.onceOnly().toString());
  }
}
