package io.ferry.placement;

import io.ferry.persistence.CborSerializable;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.List;

/** Move {@code nodes} of {@code query} to {@code toSite}; several nodes move together. */
public record MigrationInstruction(QueryId query, List<NodeId> nodes, Site toSite) implements CborSerializable {
  public MigrationInstruction {
    nodes = List.copyOf(nodes);
  }

  /** From user input (command line, request body); a malformed name throws IllegalArgumentException naming it. */
  public static MigrationInstruction of(String query, List<String> nodes, String toSite) {
    return new MigrationInstruction(new QueryId(query), nodes.stream().map(NodeId::new).toList(), Site.of(toSite));
  }
}
