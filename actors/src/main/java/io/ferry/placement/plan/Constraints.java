package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.placement.plan.Topology.SiteInfo;
import io.ferry.query.NodeId;
import java.util.Map;
import java.util.Optional;

/**
 * The hard rules of a placement besides capacity: the PII rule (a node that receives a PII field
 * runs only at an edge site), users' pins (a user's migration instruction pins the node there until
 * unpinned), a node's fixed site, and live sites only.
 */
public record Constraints(Map<NodeId, Site> pins) {
  public Constraints {
    pins = Map.copyOf(pins);
  }

  public static Constraints none() {
    return new Constraints(Map.of());
  }

  /** The one site {@code n} must run at, if any: a user's pin wins over the node's fixed site. */
  public Optional<Site> required(PlanNode n) {
    Site p = pins.get(n.id());
    return p != null ? Optional.of(p) : n.fixed();
  }

  /** Why {@code n} may not run at {@code s}, if it may not. */
  public Optional<String> forbidden(PlanNode n, SiteInfo s) {
    Optional<Site> req = required(n);
    if (req.isPresent() && !req.get().equals(s.site())) {
      return Optional.of(n.id() + " must run at " + req.get() + (pins.containsKey(n.id()) ? " (pinned by a user)" : "") + ", not " + s.site());
    }
    if (n.pii() && s.tier() != Tier.EDGE) {
      return Optional.of(n.id() + " receives PII fields " + n.piiFields() + " and may only run at an edge site, not " + s.site());
    }
    if (!s.live()) {
      return Optional.of(n.id() + " cannot run at " + s.site() + ": no live member there");
    }
    return Optional.empty();
  }
}
