package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.check.SingleOwnerCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The single-owner history read from member logs: a killed incarnation's instance runs until the kill. */
class FailoverBenchTest {
  private static final String A = "pekko://ferry@127.0.0.1:1001";
  private static final String B = "pekko://ferry@127.0.0.1:1002";

  @TempDir Path dir;

  private static String line(String entity, String instance, boolean started, String at, long ms) {
    return "18:00:00.000 INFO  io.ferry.lifecycle - entity=" + entity + " instance=" + instance + " " + (started ? "started" : "stopped")
        + " at=" + at + " epochMs=" + ms;
  }

  @Test
  void aKilledInstanceCountsUntilItsKillAndAnEarlierTakeOverIsCaught() throws Exception {
    Path killed = dir.resolve("a-1.log");
    Path survivor = dir.resolve("b-1.log");
    Files.write(killed, List.of("noise", line("failover/window-a", A + "#1", true, A, 1_000)));
    // B starts the node at 4 s; A was killed at 5 s: both ran it between 4 and 5 s.
    Files.write(survivor, List.of(line("failover/window-a", B + "#2", true, B, 4_000), line("other/x", B + "#3", true, B, 0)));
    List<SingleOwnerCheck.Interval> early = FailoverBench.instances(List.of(killed, survivor), Map.of(killed.toString(), 5_000L));
    assertEquals(2, early.size(), "only the benchmark's query: " + early);
    assertEquals(1, SingleOwnerCheck.overlaps(early).size(), early.toString());

    // Killed at 3 s: the take-over at 4 s is clean.
    List<SingleOwnerCheck.Interval> clean = FailoverBench.instances(List.of(killed, survivor), Map.of(killed.toString(), 3_000L));
    assertTrue(SingleOwnerCheck.overlaps(clean).isEmpty(), clean.toString());
  }

  @Test
  void aStoppedInstanceEndsAtItsStopLine() throws Exception {
    Path log = dir.resolve("a-1.log");
    Files.write(log, List.of(line("failover/src-a", A + "#1", true, A, 1_000), line("failover/src-a", A + "#1", false, A, 2_000),
        line("failover/src-a", A + "#4", true, A, 2_000)));
    List<SingleOwnerCheck.Interval> intervals = FailoverBench.instances(List.of(log), Map.of());
    assertEquals(List.of(new SingleOwnerCheck.Interval("failover/src-a", A + "#1", 1_000_000, 2_000_000),
        new SingleOwnerCheck.Interval("failover/src-a", A + "#4", 2_000_000, Long.MAX_VALUE)), intervals);
    assertTrue(SingleOwnerCheck.overlaps(intervals).isEmpty());
  }

  @Test
  void eachStepsMedianIsOverTheKillsThatLoggedIt() {
    List<FailoverBench.Kill> kills = List.of(
        new FailoverBench.Kill(A, List.of("window-a"), 0, 4_000, Map.of("removed", 3_000L, "output", 4_000L), Map.of()),
        new FailoverBench.Kill(B, List.of("window-a"), 0, 9_000, Map.of("removed", 3_500L, "released", 3_600L, "output", 9_000L), Map.of()),
        new FailoverBench.Kill(A, List.of("window-a"), 0, 5_000, Map.of("removed", 2_000L, "output", 5_000L), Map.of()));
    Map<String, Long> m = FailoverBench.medianSteps(kills);
    assertEquals(3_000L, m.get("removed(3)"));
    assertEquals(3_600L, m.get("released(1)"));
    assertEquals(5_000L, m.get("output(3)"));
  }
}
