package io.ferry.query;

import java.util.List;

/**
 * A checked node of a compiled query: everything a logic node needs to run, wherever it runs. Its
 * upstreams and downstreams are node ids, never addresses, so a node can move.
 */
public record NodeSpec(
    QueryId query,
    NodeId id,
    OperatorSpec op,
    List<NodeId> inputs,
    List<NodeId> outputs,
    Schema inputSchema,
    Schema outputSchema) {
  public NodeSpec {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** True when some field this node receives is still tagged PII. */
  public boolean receivesPii() {
    return inputSchema != null && inputSchema.fields().stream().anyMatch(Field::pii);
  }
}
