package io.ferry.simulator.rescale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.placement.MigrationReport.Outcome;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Runs the rescale simulation over many seeds. {@code -Dferry.seed=N} replays one seed; {@code
 * -Dferry.sim.seeds=N} sets how many seeds the sweep runs (60 by default; 150 take ~2 s on an idle core).
 */
class RescaleSimulationTest {
  private static final RescaleSimulation.Options OPTIONS = RescaleSimulation.Options.defaults();

  private static long baseSeed() {
    String s = System.getProperty("ferry.seed");
    long seed = s == null || s.isBlank() ? new SplittableRandom().nextLong() : Long.parseLong(s);
    System.out.println("RescaleSimulationTest base seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    return seed;
  }

  @Test
  void theSameSeedGivesTheSameRun() {
    long seed = baseSeed();
    RescaleSimulation.Result a = RescaleSimulation.run(seed, OPTIONS);
    RescaleSimulation.Result b = RescaleSimulation.run(seed, OPTIONS);
    assertEquals(a, b, a.describe());
    assertNotEquals(a.traceHash(), RescaleSimulation.run(seed + 1, OPTIONS).traceHash());
  }

  @Test
  void everySeedPassesEveryCheck() {
    String one = System.getProperty("ferry.seed");
    int seeds = Integer.getInteger("ferry.sim.seeds", one != null && !one.isBlank() ? 1 : 60);
    long base = baseSeed();
    List<String> failed = new ArrayList<>();
    int completed = 0;
    int rolledBack = 0;
    int managerCrashes = 0;
    int staleCuts = 0;
    java.util.Map<String, Integer> reasons = new java.util.TreeMap<>();
    for (int i = 0; i < seeds; i++) {
      RescaleSimulation.Result r = RescaleSimulation.run(base + i, OPTIONS);
      if (!r.ok()) {
        failed.add(r.describe());
      }
      completed += (int) r.rescales().stream().filter(x -> x.outcome() == Outcome.COMPLETED).count();
      rolledBack += (int) r.rescales().stream().filter(x -> x.outcome() == Outcome.ROLLED_BACK).count();
      r.rescales().stream().filter(x -> x.outcome() == Outcome.ROLLED_BACK).forEach(x -> reasons.merge(x.reason().replaceAll("[0-9]+", "N"), 1, Integer::sum));
      managerCrashes += r.managerCrashes();
      staleCuts += r.staleCuts();
    }
    System.out.println("RescaleSimulationTest: " + seeds + " seeds, rescales completed " + completed + ", rolled back " + rolledBack
        + ", manager crashes " + managerCrashes + ", batches cut for an instance's slice before its regroup " + staleCuts
        + "; roll-back reasons " + reasons);
    assertTrue(failed.isEmpty(), failed.size() + " of " + seeds + " seeds failed:\n" + String.join("\n", failed.subList(0, Math.min(3, failed.size()))));
    // The sweep must exercise what it claims to: most rescales complete, with the state moved.
    assertTrue(completed > seeds / 2, "only " + completed + " rescales completed over " + seeds + " seeds");
  }

  @Test
  void aRescaleThatDropsMovedStateIsCaught() {
    long base = baseSeed();
    int caught = 0;
    int seeds = 20;
    for (int i = 0; i < seeds; i++) {
      RescaleSimulation.Result r = RescaleSimulation.run(base + i, OPTIONS.unsafe());
      if (r.verdicts().stream().anyMatch(v -> v.checker().equals("once-only") && !v.ok())) {
        caught++;
      }
    }
    assertTrue(caught >= seeds / 2, "the once-only check caught only " + caught + " of " + seeds + " broken rescales");
  }

  @Test
  void instancesReadingEveryRowAreCaughtByTheSlicedInputCheck() {
    // the check's violation: without slices every instance takes every row (what ran before slices)
    long base = baseSeed();
    for (int i = 0; i < 5; i++) {
      RescaleSimulation.Result r = RescaleSimulation.run(base + i, OPTIONS.withoutSlices());
      assertTrue(r.verdicts().stream().anyMatch(v -> v.checker().equals("sliced-input") && !v.ok()), r::describe);
      assertTrue(r.verdicts().stream().anyMatch(v -> v.checker().equals("once-only") && v.ok()), r::describe);
    }
  }
}
