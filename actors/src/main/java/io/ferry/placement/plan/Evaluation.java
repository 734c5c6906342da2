package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.placement.plan.Topology.SiteInfo;
import io.ferry.query.NodeId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one complete placement costs and which constraints it breaks; the planner, its tests'
 * brute force, the placement manager and the benchmarks all judge placements with this one
 * function, so they agree on what "better" means.
 */
public record Evaluation(
    double costPerSecond,
    double computeCostPerSecond,
    double wanCostPerSecond,
    double latencyCostPerSecond,
    double wanBytesPerSec,
    Map<Site, Double> coresBySite,
    Map<String, Double> bytesPerSecByLink,
    double latencyMs,
    List<String> violations) {

  /** Relative slack for capacity and bandwidth checks, so rounding does not flag a plan that fits exactly. */
  static final double SLACK = 1e-9;

  public boolean fits() {
    return violations.isEmpty();
  }

  public static String linkKey(Site a, Site b) {
    return a.compareTo(b) <= 0 ? a + "<->" + b : b + "<->" + a;
  }

  public static Evaluation of(PlanGraph g, Topology t, CostModel m, Constraints c, Map<NodeId, Site> at) {
    Map<Site, SiteInfo> sites = t.byId();
    double compute = 0;
    double wan = 0;
    double lat = 0;
    double wanBytes = 0;
    Map<Site, Double> cores = new TreeMap<>();
    Map<String, Double> links = new TreeMap<>();
    Map<NodeId, PlanNode> byId = g.byId();
    Map<NodeId, Double> pathDelay = new HashMap<>();
    double latency = 0;
    List<String> violations = new ArrayList<>();
    for (PlanNode n : g.nodes()) {
      Site s = at.get(n.id());
      if (s == null) {
        throw new IllegalArgumentException("placement of " + g.query() + " has no site for node " + n.id());
      }
      SiteInfo info = sites.get(s);
      if (info == null) {
        throw new IllegalArgumentException("node " + n.id() + " is placed at " + s + ", which is not a site of the topology");
      }
      c.forbidden(n, info).ifPresent(violations::add);
      compute += n.cores() * m.corePrice(info.tier());
      cores.merge(s, n.cores(), Double::sum);
      double delay = 0;
      for (NodeId in : n.inputs()) {
        Site from = at.get(in);
        double d = pathDelay.get(in);
        if (!from.equals(s)) {
          PlanNode up = byId.get(in);
          double bytes = up.outBytesPerSec();
          Topology.Link l = t.link(from, s);
          wan += bytes * m.wanPricePerByte(from, s) / (1 - Math.min(l.lossRatio(), 0.9));
          lat += m.latencyWeight() * l.oneWaySeconds();
          wanBytes += bytes;
          links.merge(linkKey(from, s), bytes, Double::sum);
          d += l.oneWaySeconds() * 1000;
        }
        delay = Math.max(delay, d);
      }
      pathDelay.put(n.id(), delay);
      latency = Math.max(latency, delay);
    }
    for (Map.Entry<Site, Double> e : cores.entrySet()) {
      SiteInfo info = sites.get(e.getKey());
      if (info.loadCores() + e.getValue() > info.cores() * (1 + SLACK) + SLACK) {
        violations.add(String.format(
            "%s over capacity: the query needs %.2f cores, %.2f of %.2f are free", e.getKey(), e.getValue(), Math.max(0, info.freeCores()), info.cores()));
      }
    }
    for (Map.Entry<String, Double> e : links.entrySet()) {
      String[] ab = e.getKey().split("<->");
      Topology.Link l = t.link(Site.of(ab[0]), Site.of(ab[1]));
      if (e.getValue() > l.bandwidthBytesPerSec() * (1 + SLACK)) {
        violations.add(e.getKey() + " over bandwidth: " + Rates.bytes(e.getValue()) + " on a link of " + Rates.bytes(l.bandwidthBytesPerSec()));
      }
    }
    return new Evaluation(compute + wan + lat, compute, wan, lat, wanBytes, cores, links, latency, violations);
  }
}
