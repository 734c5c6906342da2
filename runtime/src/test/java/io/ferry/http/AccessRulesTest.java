package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The role table: each served route's role, the defaults for unmapped routes, and the token store. */
class AccessRulesTest {

  @Test
  void everyServedRouteHasTheRoleTheIssueGivesIt() {
    assertEquals(Optional.empty(), AccessRules.required("GET", "/health"));
    assertEquals(Optional.empty(), AccessRules.required("GET", "/openapi.yaml"));
    assertEquals(Optional.of(Role.READ), AccessRules.required("GET", "/metrics"));
    assertEquals(Optional.of(Role.READ), AccessRules.required("GET", "/queries/q1/status"));
    assertEquals(Optional.of(Role.OPERATE), AccessRules.required("POST", "/migrations"));
    assertEquals(Optional.of(Role.OPERATE), AccessRules.required("POST", "/volumes/v1/stop"));
    assertEquals(Optional.of(Role.OPERATE), AccessRules.required("POST", "/jobs/j1/cancel"));
    assertEquals(Optional.of(Role.ADMIN), AccessRules.required("POST", "/queries"));
    assertEquals(Optional.of(Role.ADMIN), AccessRules.required("GET", "/audit"));
    for (Endpoint e : ManagementServer.ENDPOINTS) {
      Optional<Role> r = AccessRules.required(e.method(), e.path().replaceAll("\\{[^}]+}", "x"));
      boolean listed = AccessRules.RULES.stream().anyMatch(rule -> rule.method().equals(e.method()) && rule.path().equals(e.path()));
      assertTrue(listed, e.method() + " " + e.path() + " is served but not in AccessRules.RULES");
      assertTrue(r.isEmpty() || e.method().equals("GET") || r.get() != Role.READ, e.method() + " " + e.path() + " changes something with role read");
    }
  }

  @Test
  void unmappedRoutesNeedReadToLookAndAdminToChange() {
    assertEquals(Optional.of(Role.READ), AccessRules.required("GET", "/nothing/here"));
    assertEquals(Optional.of(Role.ADMIN), AccessRules.required("POST", "/nothing/here"));
    assertEquals(Optional.of(Role.ADMIN), AccessRules.required("DELETE", "/volumes/v1"));
    assertEquals(Optional.of(Role.ADMIN), AccessRules.required("PUT", "/health"));
    // An encoded slash stays inside its segment, as the routing sees it: not under the open /console.
    assertEquals(Optional.of(Role.READ), AccessRules.required("GET", List.of("console/../audit")));
    assertEquals(Optional.empty(), AccessRules.required("GET", List.of("console", "console.js")));
    assertEquals(Optional.empty(), AccessRules.required("GET", List.of()));
    // Only the console's own files are public, and its event stream needs read.
    assertEquals(Optional.of(Role.READ), AccessRules.required("GET", List.of("console", "other.js")));
    assertEquals(Optional.of(Role.READ), AccessRules.required("GET", List.of("events")));
    assertEquals(Optional.of(Role.ADMIN), AccessRules.required("GET", List.of("audit", "")));
  }

  @Test
  void rolesAreOrdered() {
    assertTrue(Role.ADMIN.allows(Role.OPERATE));
    assertTrue(Role.OPERATE.allows(Role.READ));
    assertFalse(Role.READ.allows(Role.OPERATE));
    assertFalse(Role.OPERATE.allows(Role.ADMIN));
    assertEquals(Role.OPERATE, Role.parse("operate"));
    assertThrows(IllegalArgumentException.class, () -> Role.parse("root"));
  }

  @Test
  void tokensAreFoundByTheirHashOnly() {
    String t = Tokens.generate();
    assertTrue(t.startsWith(Tokens.PREFIX) && t.length() > 40, t);
    Tokens tokens = new Tokens(List.of(new Tokens.Grant("ops", Tokens.sha256Hex(t), Role.OPERATE)));
    assertEquals("ops", tokens.lookup(t).orElseThrow().name());
    assertTrue(tokens.lookup(Tokens.sha256Hex(t)).isEmpty(), "the stored hash is not itself a token");
    assertTrue(tokens.lookup("").isEmpty());
    assertTrue(tokens.lookup("x".repeat(10_000)).isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new Tokens.Grant("ops", "ABC", Role.READ));
    assertThrows(IllegalArgumentException.class, () -> new Tokens(List.of(new Tokens.Grant("a", Tokens.sha256Hex(t), Role.READ), new Tokens.Grant("b", Tokens.sha256Hex(t), Role.ADMIN))));
    assertThrows(IllegalArgumentException.class, () -> new HttpSecurity.Settings(Optional.empty(), "", true, List.of(), 10));
  }

  @Test
  void theAuditRingKeepsTheNewestAndPathsCannotForgeLogLines() {
    AuditLog log = new AuditLog(2);
    for (int i = 0; i < 5; i++) {
      log.record(new AuditLog.Entry(i, "who", "read", "GET", "/q" + i, "allowed", 200));
    }
    assertEquals(List.of("/q3", "/q4"), log.entries().stream().map(AuditLog.Entry::path).toList());
    assertEquals("/a?b", HttpSecurity.printable("/a\nb"));
    assertTrue(HttpSecurity.printable("/" + "x".repeat(5000)).length() <= 201);
  }
}
