package io.ferry.query.ops;

import java.util.Map;
import java.util.TreeMap;

/**
 * A source's position in several streams at once (a Kafka topic's partition → next offset): both
 * the change persisted with each source batch and the source's whole state in a snapshot.
 */
public record SourcePosition(Map<String, Long> positions) implements OperatorDelta, OperatorState {
  public SourcePosition {
    positions = Map.copyOf(positions);
  }

  /** Sorted, for logs. */
  @Override
  public String toString() {
    return "SourcePosition" + new TreeMap<>(positions);
  }
}
