package io.ferry.runtime.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Chooses the member that hosts each logic node, given the node's site and the live members of
 * every site. Keeps a node where it is while its member lives, so the placement does not churn;
 * otherwise spreads nodes over the site's members by a stable hash. Plain logic, called by the
 * query registry.
 */
public final class Assigner {
  private Assigner() {}

  /**
   * @param siteOf node entity id → site
   * @param membersBySite site → addresses of its live members
   * @param current node entity id → address it is placed at now (may name dead members)
   * @param crashed addresses of members that failed but are not yet removed from the cluster:
   *     their nodes stay placed there until sharding has released their shards, because a move
   *     away from a member that cannot hand off waits for the hand-off timeout
   * @return node entity id → chosen address, for every node whose site has a live member
   */
  public static Map<String, String> assign(
      Map<String, String> siteOf,
      Map<String, List<String>> membersBySite,
      Map<String, String> current,
      Set<String> crashed) {
    Map<String, String> chosen = new HashMap<>();
    for (Map.Entry<String, String> e : siteOf.entrySet()) {
      List<String> members = new ArrayList<>(membersBySite.getOrDefault(e.getValue(), List.of()));
      if (members.isEmpty()) {
        continue;
      }
      String now = current.get(e.getKey());
      if (now != null && (members.contains(now) || crashed.contains(now))) {
        chosen.put(e.getKey(), now);
        continue;
      }
      members.sort(String::compareTo);
      chosen.put(e.getKey(), members.get(Math.floorMod(e.getKey().hashCode(), members.size())));
    }
    return chosen;
  }
}
