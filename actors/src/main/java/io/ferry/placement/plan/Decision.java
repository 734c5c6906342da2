package io.ferry.placement.plan;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.Optional;

/**
 * One placement decision about one node, with its reason: the manager proposed a move, ran one,
 * or skipped one (cool-down, PII, capacity, no live member, a failed move). Persisted and listed by
 * {@code GET /decisions} and {@code ferry decisions}.
 *
 * @param node empty when the decision is about the whole query (no plan could be made)
 */
public record Decision(long atMillis, QueryId query, Optional<NodeId> node, Kind kind, Site from, Site to, String reason)
    implements CborSerializable {

  public enum Kind {
    PROPOSED,
    EXECUTED,
    SKIPPED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The one-line form the demo and the CLI print. */
  public String line() {
    return "decision " + kind.label() + " query=" + query + " node=" + node.map(NodeId::value).orElse("*") + " " + from + " -> " + to + ": " + reason;
  }
}
