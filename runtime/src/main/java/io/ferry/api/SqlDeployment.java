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
 * placement (which wins); a node still without a site runs where its first upstream runs, so data
 * (and PII) stays where it is until the planner places such nodes.
 */
public final class SqlDeployment {
  private SqlDeployment() {}

  /** The compiled query and the site of every node. */
  public record Planned(QueryCompiler.Compiled compiled, Placement placement) {}

  public static Planned plan(String language, String text, QueryId id, Map<String, String> overrides) {
    QueryCompiler.Compiled c = QueryCompiler.require(language).compile(text, id);
    Map<String, String> sites = new LinkedHashMap<>();
    c.sites().forEach((n, s) -> sites.put(n.value(), s));
    sites.putAll(overrides);
    List<String> unplaced = new ArrayList<>();
    // Nodes come in the order the compiler built them, upstreams first.
    for (NodeDef n : c.graph().nodes()) {
      String id0 = n.id().value();
      if (sites.containsKey(id0)) {
        continue;
      }
      String inherited = n.inputs().isEmpty() ? null : sites.get(n.inputs().get(0).value());
      if (inherited != null) {
        sites.put(id0, inherited);
      } else {
        unplaced.add(id0);
      }
    }
    if (!unplaced.isEmpty()) {
      throw new QueryException(
          "nodes " + unplaced + " have no site: give their tables a 'site' option, pin their SELECT with /*+ SITE('edge-a') */, or name"
              + " their sites in 'placement'");
    }
    return new Planned(c, new Placement(sites));
  }
}
