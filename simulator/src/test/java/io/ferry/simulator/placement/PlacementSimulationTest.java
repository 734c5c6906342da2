package io.ferry.simulator.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.report.RunReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The placement scenarios over many seeds, with the production planner, manager and migration
 * process. {@code -Dferry.seed=N} replays one seed; {@code -Dferry.sim.seeds=N} sets the sweep
 * (4 per scenario by default; the soak profile runs thousands).
 */
class PlacementSimulationTest {

  private static long baseSeed() {
    String s = System.getProperty("ferry.seed");
    long seed = s == null || s.isBlank() ? new SplittableRandom().nextLong() : Long.parseLong(s);
    System.out.println("PlacementSimulationTest base seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    return seed;
  }

  private static int seeds() {
    String one = System.getProperty("ferry.seed");
    return Math.min(500, Integer.getInteger("ferry.sim.seeds", one != null && !one.isBlank() ? 1 : 4));
  }

  private static String describe(RunReport r) {
    StringBuilder b = new StringBuilder(r.scenario() + " seed " + r.seed() + " (" + r.replay() + ")\n");
    r.checkers().forEach(v -> b.append("  ").append(v.checker()).append(v.ok() ? " OK: " : " FAILED: ").append(v.detail()).append('\n'));
    r.operations().stream().limit(40).forEach(e -> b.append("  ").append(e.atMillis()).append(" ms ").append(e.detail()).append('\n'));
    return b.toString();
  }

  private static long count(RunReport r, String node, String move) {
    return r.operations().stream()
        .filter(e -> e.kind().equals("decision-executed") && e.detail().contains("node=" + node + " ") && e.detail().contains(move))
        .count();
  }

  @Test
  void loadShiftMovesWindowsBothWaysAndKeepsEveryInvariant() {
    long base = baseSeed();
    List<String> failures = new ArrayList<>();
    long toCloud = 0;
    long toEdge = 0;
    for (int i = 0; i < seeds(); i++) {
      RunReport r = PlacementSimulation.run(base + i, PlacementSimulation.Options.of(PlacementSimulation.LOAD_SHIFT)).report();
      if (!r.ok()) {
        failures.add(describe(r));
      }
      toCloud += count(r, "window", "-> cloud:");
      toEdge += count(r, "window", "cloud -> edge-");
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    System.out.println("load-shift: " + toCloud + " window moves edge->cloud, " + toEdge + " cloud->edge over " + seeds() + " seeds from " + base);
    assertTrue(toCloud > 0 && toEdge > 0, "windows must move both ways as the load shifts, seeds from " + base);
  }

  @Test
  void linkDegradationPullsWorkToTheEdgeAndKeepsEveryInvariant() {
    long base = baseSeed();
    List<String> failures = new ArrayList<>();
    long toEdge = 0;
    long toCloud = 0;
    for (int i = 0; i < seeds(); i++) {
      RunReport r = PlacementSimulation.run(base + i, PlacementSimulation.Options.of(PlacementSimulation.LINK_DEGRADATION)).report();
      if (!r.ok()) {
        failures.add(describe(r));
      }
      toEdge += count(r, "window", "cloud -> edge-");
      toCloud += count(r, "window", "-> cloud:");
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    System.out.println("link-degradation: " + toEdge + " window moves cloud->edge, " + toCloud + " back over " + seeds() + " seeds from " + base);
    assertTrue(toEdge > 0 && toCloud > 0, "windows must come to the edge while links are degraded and go back after, seeds from " + base);
  }

  @Test
  void theSameSeedGivesTheSameRun() {
    long seed = baseSeed();
    PlacementSimulation.Options o = PlacementSimulation.Options.of(PlacementSimulation.LOAD_SHIFT);
    RunReport a = PlacementSimulation.run(seed, o).report();
    RunReport b = PlacementSimulation.run(seed, o).report();
    assertEquals(a.traceHash(), b.traceHash());
    assertEquals(a.operations(), b.operations());
  }

  @Test
  void aHundredEdgeSitesAndAThousandNodes() {
    long seed = baseSeed();
    long started = System.nanoTime();
    PlacementSimulation.Result r = PlacementSimulation.run(seed,
        PlacementSimulation.Options.of(PlacementSimulation.LOAD_SHIFT).withSize(100, 10, Duration.ofMinutes(5)));
    double secs = (System.nanoTime() - started) / 1e9;
    System.out.printf("100 edge sites x 1000 nodes, 5 simulated minutes, seed %d: %.1f s, %d moves, %s%n", seed, secs, r.totals().moves(), r.report().checkers());
    assertTrue(r.report().ok(), describe(r.report()));
    assertEquals(1000.0, r.report().faultProbabilities().get("nodes"));
    assertTrue(r.totals().moves() > 0, "load shifts at 100 sites must move something");
  }
}
