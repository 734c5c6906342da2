package io.ferry.query.ops;

import java.util.Map;

/**
 * The input anchors up to which a transactional sink has committed its output outside Ferry
 * (upstream node id → anchor): persisted with each batch, and compared after a restart with the
 * anchors the external system committed in the same transaction as the rows.
 */
public record SinkAnchors(Map<String, Long> anchors) implements OperatorDelta, OperatorState {
  public SinkAnchors {
    anchors = Map.copyOf(anchors);
  }
}
