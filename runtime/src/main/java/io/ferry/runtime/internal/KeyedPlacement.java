package io.ferry.runtime.internal;

import io.ferry.query.KeyGroups;
import io.ferry.query.NodeDef;
import io.ferry.query.QueryGraph;
import java.util.Map;
import java.util.TreeMap;

/** How a placement names the instances of a keyed node: by the node's id for all, or one by one. */
public final class KeyedPlacement {
  private KeyedPlacement() {}

  /**
   * The placement with each keyed node's site given to those of its instances ({@code <node>.<i>})
   * it does not name, and the keyed node's own id (which runs nowhere itself) taken out.
   */
  public static Map<String, String> expand(QueryGraph graph, Map<String, String> sites) {
    Map<String, String> out = new TreeMap<>(sites);
    for (NodeDef n : graph.nodes()) {
      if (!n.keyed()) {
        continue;
      }
      String site = out.remove(n.id().value());
      for (int i = 0; i < n.instances() && site != null; i++) {
        out.putIfAbsent(KeyGroups.instanceId(n.id(), i).value(), site);
      }
    }
    return out;
  }
}
