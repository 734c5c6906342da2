package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** One rule for path ids on every route: malformed is 400 (checked before any handler), unknown is the handler's 404. */
class EndpointTest {

  @Test
  void everyPathIdOfEveryRouteIsChecked() {
    for (Endpoint e : ManagementServer.ENDPOINTS) {
      for (String p : Endpoint.parameters(e.path())) {
        assertTrue(Endpoint.malformed(p, "-bad id").isPresent(), e.path() + " {" + p + "}");
        assertEquals(Optional.empty(), Endpoint.malformed(p, "well-formed-1"), e.path() + " {" + p + "}");
      }
    }
    assertTrue(Endpoint.malformed("query", "a/b").orElseThrow().contains("a/b"));
  }

  @Test
  void aRouteWithAPathIdDeclaresItsIdTypeAnd400() {
    Endpoint.Handler none = (ctx, p) -> null;
    assertThrows(IllegalArgumentException.class, () -> Endpoint.get("/things/{thing}", none, 200, 400, 404));
    assertThrows(IllegalArgumentException.class, () -> Endpoint.get("/queries/{query}/status", none, 200, 404));
    assertEquals(List.of("query"), Endpoint.parameters(Endpoint.get("/queries/{query}/status", none, 200, 400, 404).path()));
  }
}
