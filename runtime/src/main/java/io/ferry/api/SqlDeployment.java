package io.ferry.api;

import io.ferry.query.NodeDef;
import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryException;
import io.ferry.query.QueryId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A query given as text (SQL) turned into a graph and a placement, for {@code POST /queries} and
 * {@code ferry submit --sql}. The compiler comes from the class path (module ferry-sql); without it
 * the error says so. Sites come from the text's hints and table options, then the request's own
 * placement (which wins); the nodes still without a site are left out of the placement, and the
 * deploy places them through the planner (docs/placement.md), as for a JSON spec. A source must
 * have a site: that is where its data arrives.
 */
public final class SqlDeployment {
  private SqlDeployment() {}

  /** The compiled query and the sites the text and the request name (not necessarily every node's). */
  public record Planned(QueryCompiler.Compiled compiled, Placement placement) {}

  public static Planned plan(String language, String text, QueryId id, Map<String, String> overrides) {
    QueryCompiler.Compiled c = QueryCompiler.require(language).compile(text, id);
    Map<String, String> sites = new LinkedHashMap<>();
    c.sites().forEach((n, s) -> sites.put(n.value(), s));
    sites.putAll(overrides);
    List<String> unplaced = new ArrayList<>();
    for (NodeDef n : c.graph().nodes()) {
      if (n.op().isSource() && !sites.containsKey(n.id().value())) {
        unplaced.add(n.id().value());
      }
    }
    if (!unplaced.isEmpty()) {
      throw new QueryException(
          "sources " + unplaced + " have no site (where their data arrives): give their tables a 'site' option or name"
              + " their sites in 'placement'; the planner places the other nodes");
    }
    return new Planned(c, new Placement(sites));
  }
}
