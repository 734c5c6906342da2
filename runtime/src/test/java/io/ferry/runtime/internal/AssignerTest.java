package io.ferry.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class AssignerTest {
  private static final String E1 = "pekko://ferry@10.0.0.1:2552";
  private static final String E2 = "pekko://ferry@10.0.0.2:2552";
  private static final String E3 = "pekko://ferry@10.0.0.3:2552";
  private static final String C1 = "pekko://ferry@10.1.0.1:2552";

  private static final Map<String, List<String>> MEMBERS = Map.of("edge-a", List.of(E1, E2, E3), "cloud", List.of(C1));

  @Test
  void nodesGoToMembersOfTheirOwnSiteOnly() {
    Map<String, String> siteOf = new HashMap<>();
    for (int i = 0; i < 50; i++) {
      siteOf.put("q|edge-" + i, "edge-a");
      siteOf.put("q|cloud-" + i, "cloud");
    }
    Map<String, String> chosen = Assigner.assign(siteOf, MEMBERS, Map.of(), Set.of());
    assertEquals(siteOf.keySet(), chosen.keySet());
    chosen.forEach(
        (node, member) -> assertTrue(MEMBERS.get(siteOf.get(node)).contains(member), node + " placed off its site at " + member));
  }

  @Test
  void nodeStaysOnItsLiveMember() {
    Map<String, String> siteOf = new HashMap<>();
    Map<String, String> current = new HashMap<>();
    // Each node sits on a member other than the one a fresh placement would pick.
    for (int i = 0; i < 30; i++) {
      String node = "q|n" + i;
      siteOf.put(node, "edge-a");
      String fresh = Assigner.assign(Map.of(node, "edge-a"), MEMBERS, Map.of(), Set.of()).get(node);
      current.put(node, fresh.equals(E1) ? E2 : E1);
    }
    assertEquals(current, Assigner.assign(siteOf, MEMBERS, current, Set.of()));
  }

  @Test
  void nodeOfAGoneMemberMovesToALiveMemberOfItsSite() {
    String gone = "pekko://ferry@10.0.0.9:2552";
    Map<String, String> siteOf = Map.of("q|w", "edge-a", "q|c", "cloud");
    Map<String, String> chosen = Assigner.assign(siteOf, MEMBERS, Map.of("q|w", gone, "q|c", gone), Set.of());
    assertTrue(MEMBERS.get("edge-a").contains(chosen.get("q|w")), chosen::toString);
    assertEquals(C1, chosen.get("q|c"));
  }

  @Test
  void nodeOnAMemberOfAnotherSiteMovesHome() {
    Map<String, String> chosen = Assigner.assign(Map.of("q|w", "edge-a"), MEMBERS, Map.of("q|w", C1), Set.of());
    assertTrue(MEMBERS.get("edge-a").contains(chosen.get("q|w")), chosen::toString);
  }

  @Test
  void nodeOfACrashedMemberStaysUntilItIsRemoved() {
    String crashed = "pekko://ferry@10.0.0.4:2552";
    Map<String, String> siteOf = Map.of("q|w", "edge-a");
    Map<String, String> current = Map.of("q|w", crashed);
    assertEquals(Map.of("q|w", crashed), Assigner.assign(siteOf, MEMBERS, current, Set.of(crashed)));
    assertFalse(crashed.equals(Assigner.assign(siteOf, MEMBERS, current, Set.of()).get("q|w")), "once removed, it moves");
  }

  @Test
  void siteWithoutLiveMemberLeavesTheNodeUnassigned() {
    Map<String, String> siteOf = Map.of("q|w", "edge-b", "q|x", "edge-c", "q|c", "cloud");
    Map<String, List<String>> members = Map.of("edge-b", List.of(), "cloud", List.of(C1));
    Map<String, String> chosen = Assigner.assign(siteOf, members, Map.of("q|w", E1), Set.of());
    assertEquals(Map.of("q|c", C1), chosen);
  }

  @Test
  void choiceIsDeterministicWhateverTheMemberOrder() {
    Map<String, String> siteOf = new TreeMap<>();
    for (int i = 0; i < 100; i++) {
      siteOf.put("q|n" + i, "edge-a");
    }
    Map<String, String> first = Assigner.assign(siteOf, MEMBERS, Map.of(), Set.of());
    assertEquals(first, Assigner.assign(new HashMap<>(siteOf), MEMBERS, Map.of(), Set.of()));
    Map<String, List<String>> reordered = Map.of("edge-a", List.of(E3, E1, E2), "cloud", List.of(C1));
    assertEquals(first, Assigner.assign(siteOf, reordered, Map.of(), Set.of()), "member list order must not matter");
  }

  @Test
  void manyNodesSpreadOverEveryMemberOfTheSite() {
    Map<String, String> siteOf = new HashMap<>();
    for (int i = 0; i < 100; i++) {
      siteOf.put("readings|node-" + i, "edge-a");
    }
    Map<String, String> chosen = Assigner.assign(siteOf, MEMBERS, Map.of(), Set.of());
    assertEquals(100, chosen.size());
    assertEquals(Set.of(E1, E2, E3), new HashSet<>(chosen.values()), "each member gets some of 100 nodes");
  }
}
