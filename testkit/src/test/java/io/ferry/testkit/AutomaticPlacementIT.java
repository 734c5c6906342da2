package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.PlacementDecision;
import io.ferry.api.Query;
import io.ferry.api.SiteLoad;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime placement manager with real members: lowering the edge site's capacity below what
 * its nodes use moves the window to the cloud by itself, giving the capacity back brings it home
 * after its cool-down, and the sink still equals the reference (once-only).
 */
@ExtendWith(SeedExtension.class)
class AutomaticPlacementIT {

  @TempDir Path dir;

  private static QueryGraph query(Seed seed) {
    return Query.named("auto")
        .generate("src", new OperatorSpec.Generate(seed.value(), 8, 40_000, 1_700_000_000_000L, 2, 0, 2_000))
        // the owner is PII: dropped at the edge, so the window may run in the cloud
        .project("anon", "src", Query.project().drop("owner"))
        .window("window", "anon", Query.tumbling("key", "ts", Duration.ofSeconds(1)).count("n").sum("value", "total"))
        .collect("out", "window")
        .build();
  }

  @Test
  void aCapacityDropMovesTheWindowToTheCloudAndBackWithoutLosingARow(Seed seed) throws Exception {
    QueryGraph graph = query(seed);
    Placement placement = Placement.builder().place("edge-a", "src", "anon", "window").place("cloud", "out").build();
    try (TestCluster cluster = TestCluster.builder(dir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE)
        .config(ConfigFactory.parseString(
            "ferry.placement { measured-load = nodes, probe-interval = 500ms, "
                + "manager { mode = automatic, re-plan-interval = 1s, hold-time = 1s, cool-down = 3s } }"))
        .start()) {
      Ferry ferry = cluster.ferry();
      Deployment d = cluster.deploy(graph, placement);
      try (SinkReader out = cluster.readSink(d, "out")) {
        // the manager measures the edge's nodes; then the edge gets 60 % of what they use: the
        // PII part (4 of 9 parts by the estimates per row) fits, the window does not
        SiteLoad edge = await(ferry, f -> f.sites().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
            .filter(s -> s.site().equals("edge-a") && s.loadCores() > 0).findFirst(), Duration.ofSeconds(30));
        // the members of the two sites ping each other: the link has a measured RTT (loopback: small)
        // (a link is listed before its first probe answers, with rttMs -1: wait for a measured one)
        io.ferry.api.SiteLink link = await(ferry, f -> f.links().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
            .filter(l -> l.rttMs() > 0).findFirst(), Duration.ofSeconds(20));
        assertEquals(java.util.Set.of("cloud", "edge-a"), java.util.Set.of(link.from(), link.to()), link::toString);
        assertTrue(link.rttMs() > 0 && link.rttMs() < 5_000, link::toString);
        ferry.placementCapacity("edge-a", edge.loadCores() * 0.6);
        PlacementDecision away = await(ferry, f -> executed(f, "edge-a", "cloud"), Duration.ofSeconds(30));
        assertEquals("window", away.node(), away::line);
        assertTrue(away.reason().contains("breaks"), away::line);
        // with the window in the cloud the rows anon sends it cross the link: bandwidth in use is measured, not configured
        io.ferry.api.SiteLink busy = await(ferry, f -> f.links().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
            .filter(l -> l.bandwidthBytesPerSec() != null && l.bandwidthBytesPerSec() > 0).findFirst(), Duration.ofSeconds(20));
        assertTrue(busy.capacityBytesPerSec() > 0, busy::toString);
        // every batch persist is timed: the members' journal write latency; nodes report backlog and state
        // (members report every probe interval: wait for a report that already shows the window in the cloud)
        io.ferry.api.Measurements m = await(ferry, f -> Optional.of(f.measurements().toCompletableFuture().get(10, TimeUnit.SECONDS))
            .filter(x -> x.members().stream().anyMatch(mm -> mm.journalWriteMs() != null && mm.journalWriteMs() > 0))
            .filter(x -> x.nodes().stream().anyMatch(n -> n.node().equals("window") && n.site().equals("cloud"))), Duration.ofSeconds(20));
        assertTrue(m.nodes().stream().anyMatch(n -> n.node().equals("window") && n.site().equals("cloud") && n.backlogRows() >= 0), m::toString);
        // the capacity comes back: WAN makes the edge cheaper again; after the cool-down it moves home
        ferry.placementCapacity("edge-a", -1);
        PlacementDecision home = await(ferry, f -> executed(f, "cloud", "edge-a"), Duration.ofSeconds(30));
        assertEquals("window", home.node(), home::line);
        await(ferry, f -> f.queries().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
            .filter(q -> "edge-a".equals(q.sites().get("window"))).findFirst(), Duration.ofSeconds(20));

        out.awaitDone(Duration.ofMinutes(1));
        List<Row> expected = ReferenceRun.run(graph, 1_000_000).get(new NodeId("out"));
        OnceOnlyChecker.Verdict verdict = out.assertOnceOnly(expected);
        assertEquals(expected.size(), verdict.actualRows());
        List<PlacementDecision> all = ferry.decisions().toCompletableFuture().get(10, TimeUnit.SECONDS);
        all.forEach(x -> System.out.println(x.line()));
        assertTrue(all.stream().allMatch(x -> !x.reason().isBlank()), "every decision has a reason");

        // a spec that names only where its source's data arrives and where its readers are is
        // placed by the planner: the PII projection at the edge, the window where it cuts WAN
        QueryGraph planned = Query.named("planned")
            .generate("src", new OperatorSpec.Generate(seed.value() + 1, 8, 2_000, 1_700_000_000_000L, 2, 0, 2_000))
            .project("anon", "src", Query.project().drop("owner"))
            .window("window", "anon", Query.tumbling("key", "ts", Duration.ofSeconds(1)).count("n"))
            .collect("out", "window")
            .build();
        Deployment p = cluster.deploy(planned, Placement.builder().place("edge-a", "src").place("cloud", "out").build());
        java.util.Map<String, String> sites = ferry.queries().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
            .filter(q -> q.query().equals(p.query())).findFirst().orElseThrow().sites();
        assertEquals(java.util.Map.of("src", "edge-a", "anon", "edge-a", "window", "edge-a", "out", "cloud"), sites);
      }
    }
  }

  private static Optional<PlacementDecision> executed(Ferry ferry, String from, String to) throws Exception {
    return ferry.decisions().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
        .filter(x -> x.kind().equals("executed") && x.from().equals(from) && x.to().equals(to))
        .findFirst();
  }

  interface Probe<T> {
    Optional<T> get(Ferry ferry) throws Exception;
  }

  private static <T> T await(Ferry ferry, Probe<T> probe, Duration timeout) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<T> v = probe.get(ferry);
      if (v.isPresent()) {
        return v.get();
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + timeout + "; decisions: "
            + ferry.decisions().toCompletableFuture().get(10, TimeUnit.SECONDS).stream().map(PlacementDecision::line).toList());
      }
      Thread.sleep(200);
    }
  }
}
