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
    Schema outputSchema,
    List<Schema> inputSchemas) {
  /**
   * @param inputSchemas the schema of each input in order; all equal to {@code inputSchema} except
   *     for a window join, whose inputs differ (left, right). Empty for a source. A spec persisted
   *     before this field existed reads back with it derived from {@code inputSchema}.
   */
  public NodeSpec {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    if (inputSchemas == null || inputSchemas.isEmpty()) {
      List<Schema> same = new java.util.ArrayList<>();
      if (inputSchema != null) {
        inputs.forEach(i -> same.add(inputSchema));
      }
      inputSchemas = same;
    }
    inputSchemas = List.copyOf(inputSchemas);
  }

  public NodeSpec(
      QueryId query, NodeId id, OperatorSpec op, List<NodeId> inputs, List<NodeId> outputs, Schema inputSchema, Schema outputSchema) {
    this(query, id, op, inputs, outputs, inputSchema, outputSchema, List.of());
  }

  /** True when some field this node receives is still tagged PII. */
  public boolean receivesPii() {
    return inputSchemas.stream().anyMatch(s -> s.fields().stream().anyMatch(Field::pii));
  }
}
