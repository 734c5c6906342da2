package io.ferry.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MemberRolesTest {
  @Test
  void rolesRoundTrip() {
    List<String> roles = MemberRoles.of(Site.of("edge-a"), Tier.EDGE);
    assertEquals(List.of("worker", "edge", "site-edge-a"), roles);
    assertEquals(Optional.of(Site.of("edge-a")), MemberRoles.site(roles));
    assertEquals(Optional.of(Tier.EDGE), MemberRoles.tier(roles));
  }

  @Test
  void aMemberWithoutSiteOrTierRoleHasNone() {
    assertTrue(MemberRoles.site(List.of("worker", "dc-default")).isEmpty());
    assertTrue(MemberRoles.tier(List.of("worker", "site-x")).isEmpty());
  }

  @Test
  void badNamesAreRefusedWithTheRule() {
    var e = assertThrows(IllegalArgumentException.class, () -> Site.of("Edge A"));
    assertTrue(e.getMessage().contains("'Edge A'"), e.getMessage());
    var t = assertThrows(IllegalArgumentException.class, () -> Tier.parse("fog"));
    assertTrue(t.getMessage().contains("edge or cloud"), t.getMessage());
  }
}
