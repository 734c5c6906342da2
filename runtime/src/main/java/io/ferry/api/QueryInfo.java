package io.ferry.api;

import io.ferry.query.NodeSpec;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.Map;

/**
 * A deployed query: its nodes, the site each node is placed at (node id → site) and the member
 * address each runs on (node id → address; absent while a node is not placed yet).
 */
public record QueryInfo(QueryId query, String deploymentId, List<NodeSpec> nodes, Map<String, String> sites, Map<String, String> members) {
  public QueryInfo {
    nodes = List.copyOf(nodes);
    sites = Map.copyOf(sites);
    members = Map.copyOf(members);
  }
}
