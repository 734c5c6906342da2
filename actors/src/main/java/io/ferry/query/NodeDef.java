package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One node of a query graph as the user wrote it: what it does and which nodes feed it.
 *
 * @param parallelism for a keyed node (a window): how many instances share its key groups; 0 (left
 *     out) for a node that runs as one
 * @param maxParallelism how many instances the node may be rescaled to, at least {@code
 *     parallelism}; 0 (left out) means {@code parallelism}
 */
public record NodeDef(
    NodeId id,
    OperatorSpec op,
    List<NodeId> inputs,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int parallelism,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) int maxParallelism) {
  public NodeDef {
    if (id == null || op == null) {
      throw new QueryException("a node needs an id and an operator");
    }
    inputs = List.copyOf(inputs);
    if (parallelism < 0 || parallelism > KeyGroups.PARALLELISM_MAX) {
      throw new QueryException("node '" + id + "': parallelism must be 1.." + KeyGroups.PARALLELISM_MAX + ", got " + parallelism);
    }
    if (maxParallelism != 0 && (maxParallelism < parallelism || maxParallelism > KeyGroups.PARALLELISM_MAX || parallelism == 0)) {
      throw new QueryException("node '" + id + "': maxParallelism must lie within parallelism.." + KeyGroups.PARALLELISM_MAX
          + " and needs a parallelism, got " + maxParallelism + " with parallelism " + parallelism);
    }
  }

  public NodeDef(NodeId id, OperatorSpec op, List<NodeId> inputs) {
    this(id, op, inputs, 0, 0);
  }

  /** True when the node runs as several instances that share its key groups. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean keyed() {
    return parallelism > 0;
  }

  /** The instances it runs: {@code maxParallelism}, or {@code parallelism} when that is left out. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public int instances() {
    return maxParallelism == 0 ? parallelism : maxParallelism;
  }
}
