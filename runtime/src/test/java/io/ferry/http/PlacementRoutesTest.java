package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.api.FerryException;
import io.ferry.api.PlacementPlan;
import io.ferry.api.Query;
import io.ferry.placement.plan.CostModel;
import io.ferry.placement.plan.Topology;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.internal.PlacementHost;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code POST /plans}: a graph spec with a topology reads, and plans where the planner says, with reasons. */
class PlacementRoutesTest {
  private static final JsonMapper JSON = JsonMapper.builder().addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module()).build();

  private static QueryGraph graph() {
    return Query.named("q")
        .generate("src", new OperatorSpec.Generate(1, 8, 1_000, 0, 10, 0, 4_000))
        .project("anon", "src", Query.project().drop("owner"))
        .window("window", "anon", Query.tumbling("key", "ts", Duration.ofSeconds(1)).count("n"))
        .collect("out", "window")
        .build();
  }

  private static String body(String topology) throws Exception {
    return "{\"graph\":" + JSON.writeValueAsString(graph()) + ",\"placement\":{\"src\":\"edge-a\",\"out\":\"cloud\"}"
        + (topology == null ? "" : ",\"topology\":" + topology) + "}";
  }

  private static final String ROOMY =
      "{\"sites\":{\"edge-a\":{\"tier\":\"edge\",\"cores\":2},\"cloud\":{\"tier\":\"cloud\",\"cores\":16}},\"default-link\":{\"rtt\":\"40ms\",\"bandwidth\":1000000}}";

  @Test
  void aSpecWithATopologyIsPlannedWithAReasonPerNode() throws Exception {
    PlacementRoutes.PlanRequest r = RequestBodies.read(body(ROOMY), PlacementRoutes.PlanRequest.class, "a graph spec", PlacementRoutes.PLAN_EXAMPLE);
    Topology t = Topology.fromConfig(r.topologyConfig().orElseThrow());
    PlacementPlan plan = PlacementHost.plan(r.graph(), r.placement(), t, CostModel.defaults());
    // the window cuts WAN at the edge; the PII projection may not leave it; the ends stay put
    assertEquals(Map.of("src", "edge-a", "anon", "edge-a", "window", "edge-a", "out", "cloud"), plan.sites());
    assertEquals(4, plan.reasons().size());
    assertTrue(plan.reasons().get("window").startsWith("window at edge-a"), plan.reasons()::toString);
    assertTrue(plan.violations().isEmpty(), plan.violations()::toString);

    // a busy edge sends the window to the cloud, and the reason says so
    String busy = ROOMY.replace("\"cores\":2}", "\"cores\":2,\"load\":1.995}");
    PlacementPlan moved = PlacementHost.plan(r.graph(), r.placement(),
        Topology.fromConfig(RequestBodies.read(body(busy), PlacementRoutes.PlanRequest.class, "a graph spec", PlacementRoutes.PLAN_EXAMPLE).topologyConfig().orElseThrow()),
        CostModel.defaults());
    assertEquals("cloud", moved.sites().get("window"), moved.reasons()::toString);
    assertEquals("edge-a", moved.sites().get("anon"), "PII stays at the edge");
  }

  @Test
  void aSpecWithoutGraphOrSourceSiteIsRefused() throws Exception {
    BadRequest e = assertThrows(BadRequest.class,
        () -> RequestBodies.read("{\"placement\":{}}", PlacementRoutes.PlanRequest.class, "a graph spec", PlacementRoutes.PLAN_EXAMPLE));
    assertEquals("graph", e.field().orElseThrow());
    PlacementRoutes.PlanRequest r = RequestBodies.read(body(ROOMY), PlacementRoutes.PlanRequest.class, "a graph spec", PlacementRoutes.PLAN_EXAMPLE);
    Topology t = Topology.fromConfig(r.topologyConfig().orElseThrow());
    FerryException f = assertThrows(FerryException.class, () -> PlacementHost.plan(r.graph(), Map.of("out", "cloud"), t, CostModel.defaults()));
    assertTrue(f.getMessage().contains("source 'src' needs a site"), f::getMessage);
  }
}
