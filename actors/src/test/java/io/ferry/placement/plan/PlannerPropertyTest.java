package io.ferry.placement.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.placement.Tier;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The planner against brute force on every placement of up to 8 nodes over 2 or 3 sites. Each
 * problem is drawn from one long, which jqwik prints when a property fails; {@code
 * PlannerReplayTest} replays it with {@code -Dferry.seed=}.
 */
class PlannerPropertyTest {
  /** The documented gap of the many-site search (docs/placement.md), relative to the optimum. */
  static final double MANY_SITES_GAP = 0.25;

  @Property(tries = 100)
  void twoTiersEqualBruteForce(@ForAll long seed) {
    check2(seed);
  }

  static void check2(long seed) {
    Planner.Request r = Instances.random(seed, 2, false);
    Plan p = Planner.plan(r);
    Evaluation best = Instances.bruteForce(r).orElseThrow();
    assertEquals("min-cut", p.method(), "seed " + seed);
    assertEquals(best.costPerSecond(), p.costPerSecond(), 1e-9 * Math.max(1e-12, best.costPerSecond()), "seed " + seed + " " + p);
  }

  @Property(tries = 100)
  void manySitesStayWithinTheDocumentedGap(@ForAll long seed) {
    check3(seed);
  }

  static void check3(long seed) {
    Planner.Request r = Instances.random(seed, 3, false);
    Plan p = Planner.plan(r);
    Evaluation best = Instances.bruteForce(r).orElseThrow();
    assertTrue(p.fits(), "seed " + seed + " " + p);
    assertTrue(p.costPerSecond() <= best.costPerSecond() * (1 + MANY_SITES_GAP) + 1e-15,
        "seed " + seed + ": planner " + p.costPerSecond() + " vs optimum " + best.costPerSecond() + " " + p);
  }

  @Property(tries = 100)
  void rulesAreNeverBrokenAndOverloadIsReported(@ForAll long seed) {
    checkRules(seed);
  }

  static void checkRules(long seed) {
    for (int sites = 2; sites <= 3; sites++) {
      Planner.Request r = Instances.random(seed, sites, true);
      Plan p = Planner.plan(r);
      Map<io.ferry.placement.Site, Topology.SiteInfo> info = r.topology().byId();
      for (PlanNode n : r.graph().nodes()) {
        Topology.SiteInfo at = info.get(p.site(n.id()));
        assertTrue(!n.pii() || at.tier() == Tier.EDGE, "seed " + seed + ": PII node " + n.id() + " at " + at.site());
        Optional<io.ferry.placement.Site> req = r.constraints().required(n);
        req.ifPresent(s -> assertEquals(s, at.site(), "seed " + seed + ": " + n.id() + " must run at " + s));
        assertTrue(p.reasons().get(n.id()).startsWith(n.id() + " at " + at.site() + ": "), p.reasons().get(n.id()));
      }
      Evaluation e = Evaluation.of(r.graph(), r.topology(), r.cost(), r.constraints(), p.sites());
      assertEquals(e.violations(), p.violations(), "seed " + seed);
      Optional<Evaluation> best = Instances.bruteForce(r);
      if (best.isEmpty()) {
        assertTrue(!p.fits(), "seed " + seed + ": brute force found no fitting placement but the planner claims " + p);
      }
    }
  }
}
