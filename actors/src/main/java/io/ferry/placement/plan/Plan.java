package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.Map;

/**
 * The planner's answer: a site for every node, what that placement is predicted to cost, and a
 * reason per node a person can read.
 *
 * @param wanBytesPerSec bytes per second crossing between sites
 * @param coresBySite cores the query keeps busy at each site it uses
 * @param latencyMs the longest source-to-sink path's one-way WAN delay
 * @param costPerSecond compute + WAN + weighted latency, in the cost model's currency
 * @param method how it was found: {@code min-cut} (exact), {@code search} (many sites), with
 *     {@code +repair} when capacity or bandwidth forced changes
 * @param violations capacity or bandwidth the plan still exceeds; empty when it fits
 */
public record Plan(
    QueryId query,
    Map<NodeId, Site> sites,
    double wanBytesPerSec,
    Map<Site, Double> coresBySite,
    double latencyMs,
    double costPerSecond,
    Map<NodeId, String> reasons,
    String method,
    List<String> violations) {

  public Plan {
    sites = Map.copyOf(sites);
    coresBySite = Map.copyOf(coresBySite);
    reasons = Map.copyOf(reasons);
    violations = List.copyOf(violations);
  }

  public boolean fits() {
    return violations.isEmpty();
  }

  public Site site(NodeId node) {
    Site s = sites.get(node);
    if (s == null) {
      throw new IllegalArgumentException("plan of " + query + " has no node " + node);
    }
    return s;
  }
}
