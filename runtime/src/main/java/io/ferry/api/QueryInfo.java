package io.ferry.api;

import io.ferry.query.NodeSpec;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.Map;

/**
 * A deployed query: its nodes, the site each node is placed at (node id → site), the member
 * address each runs on (node id → address; absent while a node is not placed yet), and its engine
 * and how that was chosen.
 */
public record QueryInfo(
    QueryId query, String deploymentId, List<NodeSpec> nodes, Map<String, String> sites, Map<String, String> members, EngineChoice engine) {
  public QueryInfo {
    nodes = List.copyOf(nodes);
    sites = Map.copyOf(sites);
    members = Map.copyOf(members);
    engine = engine == null ? EngineChoice.deployed() : engine;
  }

  public QueryInfo(QueryId query, String deploymentId, List<NodeSpec> nodes, Map<String, String> sites, Map<String, String> members) {
    this(query, deploymentId, nodes, sites, members, EngineChoice.deployed());
  }
}
