package io.ferry.runtime.internal;

import io.ferry.placement.MemberRoles;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.cluster.ClusterEvent.CurrentClusterState;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;

/**
 * The cluster membership as the query and volume registries need it, computed in one place from
 * Pekko's cluster state: which workers are live at each site, each site's tier, the site of an
 * address, and which members failed. A snapshot: build a new one when the membership may have changed.
 *
 * @param liveMembersBySite site → addresses of its Up, reachable members (block agents run on each)
 * @param liveWorkersBySite the same, only members that carry the worker role (they host logic nodes)
 * @param siteTiers site → tier, from the roles of every member there (live or not)
 * @param siteOfAddress member address → its site, for every member that names one
 * @param members addresses of every member the cluster knows
 * @param failed addresses of members that are unreachable or marked down
 */
public record MembershipView(
    Map<Site, List<String>> liveMembersBySite,
    Map<Site, List<String>> liveWorkersBySite,
    Map<Site, Tier> siteTiers,
    Map<String, Site> siteOfAddress,
    Set<String> members,
    Set<String> failed) {

  public MembershipView {
    liveMembersBySite = Collections.unmodifiableMap(new TreeMap<>(liveMembersBySite));
    liveWorkersBySite = Collections.unmodifiableMap(new TreeMap<>(liveWorkersBySite));
    siteTiers = Collections.unmodifiableMap(new TreeMap<>(siteTiers));
    siteOfAddress = Map.copyOf(siteOfAddress);
    members = Set.copyOf(members);
    failed = Set.copyOf(failed);
  }

  public static MembershipView of(CurrentClusterState state) {
    Map<Site, List<String>> live = new TreeMap<>();
    Map<Site, List<String>> workers = new TreeMap<>();
    Map<Site, Tier> tiers = new TreeMap<>();
    Map<String, Site> siteOf = new HashMap<>();
    Set<String> members = new HashSet<>();
    Set<String> failed = new HashSet<>();
    for (Member m : state.getMembers()) {
      String addr = m.address().toString();
      members.add(addr);
      boolean unreachable = state.getUnreachable().contains(m);
      if (unreachable || m.status() == MemberStatus.down()) {
        failed.add(addr);
      }
      Optional<Site> site = MemberRoles.site(m.getRoles());
      if (site.isEmpty()) {
        continue;
      }
      siteOf.put(addr, site.get());
      MemberRoles.tier(m.getRoles()).ifPresent(t -> tiers.put(site.get(), t));
      if (m.status() == MemberStatus.up() && !unreachable) {
        live.computeIfAbsent(site.get(), k -> new ArrayList<>()).add(addr);
        if (m.hasRole(MemberRoles.WORKER)) {
          workers.computeIfAbsent(site.get(), k -> new ArrayList<>()).add(addr);
        }
      }
    }
    for (Member m : state.getUnreachable()) {
      failed.add(m.address().toString());
    }
    return new MembershipView(live, workers, tiers, siteOf, members, failed);
  }

  /** Whether {@code address} is an Up, reachable member at {@code site}. */
  public boolean liveAt(String address, Site site) {
    return liveMembersBySite.getOrDefault(site, List.of()).contains(address);
  }

  /** The same live workers keyed by site name, as the {@link Assigner} takes them. */
  Map<String, List<String>> liveWorkersBySiteName() {
    Map<String, List<String>> out = new TreeMap<>();
    liveWorkersBySite.forEach((s, a) -> out.put(s.name(), a));
    return out;
  }
}
