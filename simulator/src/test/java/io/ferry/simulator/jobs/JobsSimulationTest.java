package io.ferry.simulator.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The {@code jobs} scenario over many seeds. {@code -Dferry.seed=N} replays one seed; {@code
 * -Dferry.sim.seeds=N} sets how many seeds the sweep runs (100 by default, 5000 under -Psoak).
 */
class JobsSimulationTest {
  private static final JobsSimulation.Options OPTIONS = JobsSimulation.Options.defaults();

  private static long baseSeed() {
    String s = System.getProperty("ferry.seed");
    long seed = s == null || s.isBlank() ? new SplittableRandom().nextLong() : Long.parseLong(s);
    System.out.println("JobsSimulationTest base seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    return seed;
  }

  static String describe(RunReport r) {
    StringBuilder b = new StringBuilder("seed " + r.seed() + " (" + r.replay() + ") " + r.faultProbabilities() + "\n");
    r.checkers().forEach(v -> b.append("  ").append(v.checker()).append(v.ok() ? " OK: " : " FAILED: ").append(v.detail()).append('\n'));
    r.faults().forEach(f -> b.append("  fault ").append(f).append('\n'));
    r.operations().forEach(f -> b.append("  op ").append(f).append('\n'));
    return b.toString();
  }

  private static long count(RunReport r, String kind) {
    return r.faults().stream().filter(e -> e.kind().equals(kind)).count();
  }

  @Test
  void theSameSeedGivesTheSameRun() {
    long seed = baseSeed();
    RunReport a = JobsSimulation.run(seed, OPTIONS);
    RunReport b = JobsSimulation.run(seed, OPTIONS);
    assertEquals(a.traceHash(), b.traceHash(), describe(a));
    assertEquals(a, b);
    assertNotEquals(a.traceHash(), JobsSimulation.run(seed + 1, OPTIONS).traceHash());
  }

  @Test
  void everySeedPassesEveryChecker() {
    String one = System.getProperty("ferry.seed");
    int seeds = Integer.getInteger("ferry.sim.seeds", one != null && !one.isBlank() ? 1 : 100);
    long base = baseSeed();
    List<String> failures = new ArrayList<>();
    long started = System.nanoTime();
    long[] kinds = new long[4];
    long takeOvers = 0;
    long failedTasks = 0;
    for (int i = 0; i < seeds; i++) {
      RunReport r = JobsSimulation.run(base + i, OPTIONS);
      kinds[0] += count(r, "worker-crash");
      kinds[1] += count(r, "pool-loss");
      kinds[2] += count(r, "partition");
      kinds[3] += count(r, "queue-host-crash");
      takeOvers += r.operations().stream().filter(e -> e.kind().equals("take-over")).count();
      failedTasks += r.checkers().stream().filter(v -> v.checker().equals("every-task-ends") && v.detail().matches(".* [1-9][0-9]* failed with a reason.*")).count();
      if (!r.ok()) {
        failures.add(describe(r));
      }
    }
    double secs = (System.nanoTime() - started) / 1e9;
    System.out.printf("jobs: %d seeds from %d in %.1f s, %d worker crashes, %d pool losses, %d partitions, %d queue-host crashes, %d take-overs, %d runs with failed tasks%n",
        seeds, base, secs, kinds[0], kinds[1], kinds[2], kinds[3], takeOvers, failedTasks);
    assertTrue(failures.isEmpty(), failures.size() + " of " + seeds + " seeds failed:\n" + String.join("\n", failures.subList(0, Math.min(3, failures.size()))));
    if (seeds >= 100) {
      assertTrue(kinds[0] > 0 && kinds[1] > 0 && kinds[2] > 0 && kinds[3] > 0 && takeOvers > 0, "every fault kind must occur in a sweep from " + base);
      assertTrue(failedTasks > 0, "some run must fail a task after its budget, from " + base);
    }
  }

  @Test
  void withoutFencingTheHolderCheckCatchesTwoPoolsAtOnce() {
    long base = baseSeed();
    int caught = 0;
    // Stops at the first catch; 40 seeds missed once in CI (from 986118679669999211): an overlap
    // needs a partition or pool loss while a lease is out, which not every seed draws.
    for (int i = 0; i < 400 && caught == 0; i++) {
      RunReport r = JobsSimulation.run(base + i, OPTIONS.withFencing(false));
      caught += r.checkers().stream().anyMatch(v -> v.checker().equals("one-holder-per-task") && !v.ok()) ? 1 : 0;
    }
    assertTrue(caught > 0, "no overlap caught in 400 seeds without fencing from " + base);
  }

  @Test
  void withoutReplicationTheLossCheckCatchesALostTask() {
    long base = baseSeed();
    int caught = 0;
    for (int i = 0; i < 60 && caught == 0; i++) {
      RunReport r = JobsSimulation.run(base + i, OPTIONS.withReplicas(1));
      caught += r.checkers().stream().anyMatch(v -> v.checker().equals("no-acknowledged-task-lost") && !v.ok()) ? 1 : 0;
    }
    assertTrue(caught > 0, "no lost task caught in 60 seeds with one replica from " + base);
  }
}
