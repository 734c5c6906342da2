package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/** Random small planning problems from a seed, and their brute-force optimum. */
final class Instances {
  private Instances() {}

  /**
   * @param siteCount 2 (edge-a, cloud) or 3 (edge-a, edge-b, cloud)
   * @param tight capacities and bandwidths that may bind
   */
  static Planner.Request random(long seed, int siteCount, boolean tight) {
    Random rnd = new Random(seed);
    List<Topology.SiteInfo> sites = new ArrayList<>();
    List<Site> edges = new ArrayList<>();
    sites.add(site(rnd, "edge-a", Tier.EDGE, tight));
    edges.add(Site.of("edge-a"));
    if (siteCount >= 3) {
      sites.add(site(rnd, "edge-b", Tier.EDGE, tight));
      edges.add(Site.of("edge-b"));
    }
    sites.add(site(rnd, "cloud", Tier.CLOUD, tight));
    int n = 2 + rnd.nextInt(7);
    int sources = 1 + rnd.nextInt(Math.min(2, n - 1));
    List<PlanNode> nodes = new ArrayList<>();
    Map<NodeId, Double> out = new HashMap<>();
    Map<NodeId, Boolean> pii = new HashMap<>();
    for (int i = 0; i < n; i++) {
      NodeId id = new NodeId("n" + i);
      List<NodeId> inputs = new ArrayList<>();
      double in;
      Optional<Site> fixed = Optional.empty();
      boolean p;
      if (i < sources) {
        in = 100 + rnd.nextInt(5000);
        fixed = Optional.of(edges.get(rnd.nextInt(edges.size())));
        p = rnd.nextInt(3) == 0;
      } else {
        inputs.add(nodes.get(rnd.nextInt(i)).id());
        if (i == n - 1 && i >= 2 && rnd.nextBoolean()) {
          NodeId other = nodes.get(rnd.nextInt(i)).id();
          if (!inputs.contains(other)) {
            inputs.add(other);
          }
        }
        in = inputs.stream().mapToDouble(out::get).sum();
        // PII flows downstream until a node drops it
        p = inputs.stream().anyMatch(pii::get) && rnd.nextInt(3) != 0;
        if (i == n - 1 && rnd.nextBoolean() && !p) {
          fixed = Optional.of(Site.of("cloud"));
        }
      }
      double sel = i < sources ? 1 : new double[] {1, 0.5, 0.1, 0.01, 2}[rnd.nextInt(5)];
      double bytes = 20 + rnd.nextInt(200);
      double cpu = (1 + rnd.nextInt(50)) * 1e-6;
      nodes.add(new PlanNode(id, inputs, in, in * sel, bytes, cpu, p ? List.of("owner") : List.of(), fixed));
      out.put(id, in * sel);
      pii.put(id, p);
    }
    List<Topology.Link> links = new ArrayList<>();
    List<Topology.SiteInfo> all = sites;
    for (int a = 0; a < all.size(); a++) {
      for (int b = a + 1; b < all.size(); b++) {
        double bw = tight ? 50_000 + rnd.nextInt(2_000_000) : 1e12;
        links.add(new Topology.Link(Optional.of(all.get(a).site()), Optional.of(all.get(b).site()),
            Duration.ofMillis(1 + rnd.nextInt(200)), bw, rnd.nextInt(4) == 0 ? rnd.nextDouble() * 0.1 : 0));
      }
    }
    Topology topo = new Topology(sites, links, Topology.Link.fallback(Duration.ofMillis(50), 1e12));
    CostModel cost = new CostModel(
        Map.of(Tier.EDGE, (1 + rnd.nextInt(10)) * 1e-5, Tier.CLOUD, (1 + rnd.nextInt(10)) * 1e-5),
        0.01 + rnd.nextInt(20) * 0.01, Map.of(), rnd.nextInt(3) * 1e-4);
    Map<NodeId, Site> pins = new HashMap<>();
    if (rnd.nextInt(4) == 0) {
      PlanNode pick = nodes.get(rnd.nextInt(n));
      if (pick.fixed().isEmpty()) {
        List<Site> ok = sites.stream().filter(s -> !pick.pii() || s.tier() == Tier.EDGE).map(Topology.SiteInfo::site).toList();
        pins.put(pick.id(), ok.get(rnd.nextInt(ok.size())));
      }
    }
    return new Planner.Request(new PlanGraph(new QueryId("q" + Math.abs(seed % 1000)), nodes), topo, cost, new Constraints(pins));
  }

  private static Topology.SiteInfo site(Random rnd, String name, Tier tier, boolean tight) {
    double cores = tight ? 0.005 + rnd.nextInt(100) * 0.001 : 1e6;
    double load = tight ? rnd.nextDouble() * cores * 0.5 : 0;
    return new Topology.SiteInfo(Site.of(name), tier, cores, load, true);
  }

  /** The cheapest placement that breaks no rule, by trying them all; empty when none fits. */
  static Optional<Evaluation> bruteForce(Planner.Request r) {
    return bruteForcePlacement(r).map(Map.Entry::getValue);
  }

  /** The cheapest fitting placement and its evaluation. */
  static Optional<Map.Entry<Map<NodeId, Site>, Evaluation>> bruteForcePlacement(Planner.Request r) {
    List<PlanNode> nodes = r.graph().nodes();
    List<Topology.SiteInfo> sites = r.topology().sites();
    int[] choice = new int[nodes.size()];
    Evaluation best = null;
    Map<NodeId, Site> bestAt = null;
    while (true) {
      Map<NodeId, Site> at = new HashMap<>();
      for (int i = 0; i < choice.length; i++) {
        at.put(nodes.get(i).id(), sites.get(choice[i]).site());
      }
      Evaluation e = Evaluation.of(r.graph(), r.topology(), r.cost(), r.constraints(), at);
      if (e.fits() && (best == null || e.costPerSecond() < best.costPerSecond())) {
        best = e;
        bestAt = at;
      }
      int i = 0;
      while (i < choice.length && ++choice[i] == sites.size()) {
        choice[i++] = 0;
      }
      if (i == choice.length) {
        return best == null ? Optional.empty() : Optional.of(Map.entry(bestAt, best));
      }
    }
  }
}
