package io.ferry.placement.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The planner on the shape of query Ferry's demo runs: readable reasons, PII, capacity, links, pins. */
class PlannerTest {
  static final QueryId Q = new QueryId("q");

  /** source (PII owner, edge-a) -> mask -> window -> sink (cloud). */
  static PlanGraph demoGraph(double rowsPerSec) {
    QueryGraph g = new QueryGraph(Q, List.of(
        new NodeDef(new NodeId("source-a"), new OperatorSpec.Generate(1, 10, -1, 0, 1, 0, (long) rowsPerSec), List.of()),
        new NodeDef(new NodeId("mask-a"), new OperatorSpec.Project(List.of(), List.of(), List.of("owner")), List.of(new NodeId("source-a"))),
        new NodeDef(new NodeId("window-a"), new OperatorSpec.Window("key", "ts", 1000, 0,
            List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.SUM, "value", "total"))), List.of(new NodeId("mask-a"))),
        new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("window-a")))));
    return PlanGraph.estimate(Q, g.compile(), Map.of(new NodeId("source-a"), Site.of("edge-a")), Optional.of(Site.of("cloud")),
        PlanGraph.Estimates.defaults());
  }

  static Topology topology(double edgeLoad) {
    return new Topology(
        List.of(new Topology.SiteInfo(Site.of("edge-a"), Tier.EDGE, 2, edgeLoad, true), Topology.SiteInfo.of("cloud", Tier.CLOUD, 16)),
        List.of(Topology.Link.between("edge-a", "cloud", Duration.ofMillis(40), 10e6)),
        Topology.Link.fallback(Duration.ofMillis(50), 10e6));
  }

  @Test
  void aWindowThatShrinksItsInputRunsAtTheEdgeAndSaysWhy() {
    Plan p = Planner.plan(Planner.Request.of(demoGraph(10_000), topology(0.5), CostModel.defaults()));
    assertEquals("min-cut", p.method());
    assertEquals(Site.of("edge-a"), p.site(new NodeId("mask-a")));
    assertEquals(Site.of("edge-a"), p.site(new NodeId("window-a")));
    assertEquals(Site.of("cloud"), p.site(new NodeId("out")));
    String why = p.reasons().get(new NodeId("window-a"));
    assertTrue(why.matches("window-a at edge-a: cuts WAN from \\d+ KB/s to \\d+ B/s \\(vs cloud\\); edge-a CPU \\d+ % of 2 cores"), why);
    assertTrue(p.reasons().get(new NodeId("mask-a")).contains("receives PII [owner], edge only"), p.reasons().toString());
    assertTrue(p.wanBytesPerSec() < 1000, p.toString());
    assertTrue(p.fits(), p.violations().toString());
  }

  @Test
  void anOverloadedEdgeSendsTheWindowToTheCloudButKeepsPiiThere() {
    // the edge has 2 cores, 1.95 busy: the mask (PII) must stay, the window has no room
    Plan p = Planner.plan(Planner.Request.of(demoGraph(10_000), topology(1.95), CostModel.defaults()));
    assertEquals(Site.of("edge-a"), p.site(new NodeId("mask-a")));
    assertEquals(Site.of("cloud"), p.site(new NodeId("window-a")));
    assertTrue(p.method().endsWith("+repair"), p.method());
    String why = p.reasons().get(new NodeId("window-a"));
    assertTrue(why.contains("edge-a has no room"), why);
    assertTrue(p.fits(), p.violations().toString());
  }

  @Test
  void aSlowLinkIsNotOverfilled() {
    // a chain whose filter passes half: if the filter ran in the cloud, the raw rows would exceed the link
    QueryGraph g = new QueryGraph(Q, List.of(
        new NodeDef(new NodeId("src"), new OperatorSpec.Generate(1, 10, -1, 0, 1, 0, 20_000), List.of()),
        new NodeDef(new NodeId("drop"), new OperatorSpec.Project(List.of(), List.of("owner"), List.of()), List.of(new NodeId("src"))),
        new NodeDef(new NodeId("filter"), new OperatorSpec.Filter(new Predicate.Compare("value", Predicate.Op.GT, 0L)), List.of(new NodeId("drop"))),
        new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("filter")))));
    PlanGraph graph = PlanGraph.estimate(Q, g.compile(), Map.of(new NodeId("src"), Site.of("edge-a")), Optional.of(Site.of("cloud")),
        PlanGraph.Estimates.defaults());
    // edge cores dear enough that, on a fast link, everything after the source runs in the cloud
    CostModel cost = new CostModel(Map.of(Tier.EDGE, 0.01, Tier.CLOUD, 0.00001), 0.01, Map.of(), 0);
    Plan fast = Planner.plan(Planner.Request.of(graph, topology(0), cost));
    assertEquals(Site.of("cloud"), fast.site(new NodeId("filter")), fast.toString());
    assertEquals(Site.of("edge-a"), fast.site(new NodeId("drop")), "drop receives the PII owner field");
    Topology slow = topology(0).withLink(Topology.Link.between("edge-a", "cloud", Duration.ofMillis(200), 500_000));
    Plan p = Planner.plan(Planner.Request.of(graph, slow, cost));
    assertTrue(p.fits(), p.toString());
    assertEquals(Site.of("edge-a"), p.site(new NodeId("filter")), p.toString());
    assertTrue(p.wanBytesPerSec() <= 500_000, p.toString());
  }

  @Test
  void aUsersPinWinsAndIsNamed() {
    Plan p = Planner.plan(new Planner.Request(demoGraph(10_000), topology(0), CostModel.defaults(),
        new Constraints(Map.of(new NodeId("window-a"), Site.of("cloud")))));
    assertEquals(Site.of("cloud"), p.site(new NodeId("window-a")));
    assertTrue(p.reasons().get(new NodeId("window-a")).contains("pinned by a user's migration"));
  }

  @Test
  void impossibleRulesAreRefusedWithTheirReason() {
    Topology noLiveEdge = topology(0).withSite(new Topology.SiteInfo(Site.of("edge-a"), Tier.EDGE, 2, 0, false));
    PlanException e = assertThrows(PlanException.class, () -> Planner.plan(Planner.Request.of(demoGraph(10), noLiveEdge, CostModel.defaults())));
    assertTrue(e.getMessage().contains("no live member"), e.getMessage());
    PlanException pii = assertThrows(PlanException.class, () -> Planner.plan(new Planner.Request(demoGraph(10), topology(0), CostModel.defaults(),
        new Constraints(Map.of(new NodeId("mask-a"), Site.of("cloud"))))));
    assertTrue(pii.getMessage().contains("PII"), pii.getMessage());
  }

  @Test
  void theCostModelIsReadFromHocon() {
    CostModel c = CostModel.fromConfig(ConfigFactory.parseString(
        "cost { core-second { edge = 0.5, cloud = 0.1 }, wan-per-gb { default = 0.09, pairs = [ { a = edge-a, b = cloud, price = 0.02 } ] }, latency-weight = 0.001 }"));
    assertEquals(0.5, c.corePrice(Tier.EDGE));
    assertEquals(0.02e-9, c.wanPricePerByte(Site.of("cloud"), Site.of("edge-a")), 1e-20);
    assertEquals(0.09e-9, c.wanPricePerByte(Site.of("edge-b"), Site.of("edge-a")), 1e-20);
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> CostModel.fromConfig(ConfigFactory.parseString("cost { core-second { edge = 1 } }")));
    assertTrue(bad.getMessage().contains("ferry.placement.cost"), bad.getMessage());
  }

  @Test
  void manySitesPlanEveryEdgesOwnWindowAtHome() {
    List<Topology.SiteInfo> sites = new java.util.ArrayList<>();
    List<PlanNode> nodes = new java.util.ArrayList<>();
    sites.add(Topology.SiteInfo.of("cloud", Tier.CLOUD, 64));
    for (int e = 0; e < 20; e++) {
      sites.add(Topology.SiteInfo.of("edge-" + e, Tier.EDGE, 2));
      NodeId src = new NodeId("src-" + e);
      nodes.add(new PlanNode(src, List.of(), 1000, 1000, 100, 1e-6, List.of(), Optional.of(Site.of("edge-" + e))));
      nodes.add(new PlanNode(new NodeId("win-" + e), List.of(src), 1000, 1, 50, 1e-5, List.of(), Optional.empty()));
    }
    nodes.add(new PlanNode(new NodeId("out"), nodes.stream().filter(n -> n.id().value().startsWith("win")).map(PlanNode::id).toList(),
        20, 20, 50, 1e-6, List.of(), Optional.of(Site.of("cloud"))));
    Plan p = Planner.plan(Planner.Request.of(new PlanGraph(Q, nodes), new Topology(sites, List.of(), Topology.Link.fallback(Duration.ofMillis(30), 1e9)),
        CostModel.defaults()));
    assertEquals("search", p.method());
    for (int e = 0; e < 20; e++) {
      assertEquals(Site.of("edge-" + e), p.site(new NodeId("win-" + e)), p.reasons().get(new NodeId("win-" + e)));
    }
  }
}
