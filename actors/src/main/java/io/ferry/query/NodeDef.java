package io.ferry.query;

import java.util.List;

/** One node of a query graph as the user wrote it: what it does and which nodes feed it. */
public record NodeDef(NodeId id, OperatorSpec op, List<NodeId> inputs) {
  public NodeDef {
    if (id == null || op == null) {
      throw new QueryException("a node needs an id and an operator");
    }
    inputs = List.copyOf(inputs);
  }
}
