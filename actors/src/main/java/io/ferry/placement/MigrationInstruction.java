package io.ferry.placement;

import io.ferry.persistence.CborSerializable;
import java.util.List;

/** Move {@code nodes} of {@code query} to {@code toSite}; several nodes move together. */
public record MigrationInstruction(String query, List<String> nodes, String toSite) implements CborSerializable {
  public MigrationInstruction {
    nodes = List.copyOf(nodes);
  }
}
