package io.ferry.sql;

import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/** Graph shapes that ignore the names of inner nodes (the compiler numbers them; a hand-written spec names them). */
final class Graphs {
  private Graphs() {}

  /** Each sink as a tree of operators down to its sources (which keep their names), sinks in name order. */
  static String shape(QueryGraph g) {
    Map<NodeId, NodeDef> byId = new HashMap<>();
    g.nodes().forEach(n -> byId.put(n.id(), n));
    TreeSet<String> sinks = new TreeSet<>();
    for (NodeDef n : g.nodes()) {
      if (n.op().isSink()) {
        sinks.add(n.id() + " = " + tree(n, byId));
      }
    }
    return String.join("\n", sinks);
  }

  private static String tree(NodeDef n, Map<NodeId, NodeDef> byId) {
    if (n.op().isSource()) {
      return n.id() + ":" + n.op();
    }
    StringBuilder b = new StringBuilder(n.op().toString()).append("(");
    for (int i = 0; i < n.inputs().size(); i++) {
      b.append(i == 0 ? "" : ", ").append(tree(byId.get(n.inputs().get(i)), byId));
    }
    return b.append(")").toString();
  }
}
