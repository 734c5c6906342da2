package io.ferry.placement;

import io.ferry.query.Field;
import io.ferry.query.NodeSpec;
import io.ferry.query.Schema;
import java.util.List;
import java.util.Optional;

/**
 * Fields tagged PII are processed only at the edge until a node drops or masks them: a node that
 * receives such a field (a source: that emits one) may only run at an edge site. Checked at
 * deploy and at every move.
 */
public final class PiiRule {
  public static final String EDGE = "edge";

  private PiiRule() {}

  /** The PII fields {@code spec} handles: its input's, or a source's output's. */
  public static List<String> piiFields(NodeSpec spec) {
    Schema s = spec.op().isSource() ? spec.outputSchema() : spec.inputSchema();
    return s == null ? List.of() : s.fields().stream().filter(Field::pii).map(Field::name).toList();
  }

  /** Why {@code spec} may not run at {@code site} of tier {@code tier}, if it may not. */
  public static Optional<String> violation(NodeSpec spec, String site, String tier) {
    List<String> pii = piiFields(spec);
    if (pii.isEmpty() || EDGE.equals(tier)) {
      return Optional.empty();
    }
    return Optional.of(
        "node '" + spec.id() + "' receives PII fields " + pii + " and may only run at an edge site, but '" + site
            + "' is a " + tier + " site; drop or mask the fields upstream first");
  }
}
