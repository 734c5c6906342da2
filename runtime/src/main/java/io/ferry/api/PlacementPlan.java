package io.ferry.api;

import java.util.List;
import java.util.Map;

/**
 * A plan for a query: a site and a reason per node, predicted WAN bytes per second, cores per
 * site, latency and cost (docs/placement.md); {@code violations} is empty when it fits.
 */
public record PlacementPlan(
    String query,
    Map<String, String> sites,
    double wanBytesPerSec,
    Map<String, Double> coresBySite,
    double latencyMs,
    double costPerSecond,
    Map<String, String> reasons,
    String method,
    List<String> violations) {
  public PlacementPlan {
    sites = Map.copyOf(sites);
    coresBySite = Map.copyOf(coresBySite);
    reasons = Map.copyOf(reasons);
    violations = List.copyOf(violations);
  }
}
