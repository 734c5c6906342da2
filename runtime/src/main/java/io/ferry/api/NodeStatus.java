package io.ferry.api;

import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.Map;
import java.util.Optional;

/**
 * Where a logic node runs and how far it got: its input anchor per upstream node, its output
 * anchor (rows ever output), the output rows it still keeps for its consumers, whether its input
 * has ended and been fully output, and the migration that holds it paused, if any.
 */
public record NodeStatus(
    QueryId query,
    NodeId node,
    String address,
    boolean configured,
    String deploymentId,
    Map<String, Long> inputAnchors,
    long outputAnchor,
    long retainedRows,
    boolean done,
    Optional<String> pausedBy) {
  public NodeStatus {
    inputAnchors = Map.copyOf(inputAnchors);
  }
}
