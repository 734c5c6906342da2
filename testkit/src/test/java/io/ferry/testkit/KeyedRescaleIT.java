package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.RescaleProcess.RescaleReport;
import io.ferry.placement.Tier;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A keyed window with parallelism 2, split between an edge site and the cloud, rescaled live to 3
 * and then to 1 while a rate-limited stream flows (14 s at least), then one instance moved on its own:
 * the sink must deliver exactly the rows of a one-instance reference run.
 */
@ExtendWith(SeedExtension.class)
class KeyedRescaleIT {
  @TempDir Path dir;

  static final NodeId W = new NodeId("w");

  static QueryGraph graph(Seed seed, int parallelism, int max) {
    return graph(seed, parallelism, max, 70_000);
  }

  /** {@code rows} at 5,000 rows/s. */
  static QueryGraph graph(Seed seed, int parallelism, int max, long rows) {
    return new QueryGraph(new QueryId("keyed"), List.of(
        new NodeDef(new NodeId("src"), new OperatorSpec.Generate(seed.value(), 200, rows, 0, 5, 40, 5_000), List.of()),
        // the owner is PII: dropped at the edge, so window instances may run in the cloud
        new NodeDef(new NodeId("anon"), new OperatorSpec.Project(List.of(), List.of("owner"), List.of()), List.of(new NodeId("src"))),
        new NodeDef(W, new OperatorSpec.Window("key", "ts", 500, 50,
            List.of(new Aggregate(AggregateFn.COUNT, null, "n"), new Aggregate(AggregateFn.SUM, "value", "total"))),
            List.of(new NodeId("anon")), parallelism, max),
        new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(W))));
  }

  static RescaleReport rescale(TestCluster cluster, int to) throws Exception {
    RescaleReport r = cluster.ferry().rescale(new QueryId("keyed"), W, to).toCompletableFuture().get(120, TimeUnit.SECONDS);
    System.out.println("KeyedRescaleIT rescale " + r.from() + "->" + r.to() + " " + r.outcome() + ": total " + r.totalMillis()
        + " ms, upstream paused " + r.pauseMillis() + " ms, " + r.groupsMoved() + " key groups, " + r.entries()
        + " window entries at anchor " + r.anchor() + (r.reason().isEmpty() ? "" : " (" + r.reason() + ")"));
    return r;
  }

  @Test
  void aKeyedWindowRescaledLiveAndMovedDeliversOnceOnly(Seed seed) throws Exception {
    QueryGraph graph = graph(seed, 2, 3);
    Placement placement = Placement.builder().place("edge-a", "src", "anon", "w.0").place("cloud", "w.1", "w.2", "out").build();
    try (TestCluster cluster = TestCluster.builder(dir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE).start()) {
      Deployment d = cluster.deploy(graph, placement);
      // the window is split: one instance at the edge member, the others at the cloud's
      assertEquals(d.members().get("src"), d.members().get("w.0"), d::toString);
      assertEquals(d.members().get("out"), d.members().get("w.1"), d::toString);
      assertTrue(!d.members().get("w.0").equals(d.members().get("w.1")), d::toString);
      try (SinkReader out = cluster.readSink(d, "out")) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (out.rows().isEmpty() && System.nanoTime() < deadline) {
          Thread.sleep(20); // polling for the first window output, not timing anything
        }
        assertTrue(!out.rows().isEmpty(), "no window output within 60 s");

        RescaleReport up = rescale(cluster, 3);
        assertEquals(MigrationReport.Outcome.COMPLETED, up.outcome(), up::toString);
        assertTrue(up.groupsMoved() > 0 && up.anchor() > 0, up::toString);
        assertTrue(!out.done(), "the stream ended before the rescale: it did not run under load");

        RescaleReport down = rescale(cluster, 1);
        assertEquals(MigrationReport.Outcome.COMPLETED, down.outcome(), down::toString);
        assertEquals(3, down.from());
        assertTrue(!out.done(), "the stream ended before the second rescale: it did not run under load");

        // Instances move one by one like any node: the edge's instance joins the others in the cloud.
        MigrationReport moved = cluster.ferry().migrate(MigrationInstruction.of("keyed", List.of("w.0"), "cloud"))
            .toCompletableFuture().get(120, TimeUnit.SECONDS);
        assertEquals(MigrationReport.Outcome.COMPLETED, moved.outcome(), moved::toString);

        out.awaitDone(Duration.ofMinutes(2));
        List<Row> expected = ReferenceRun.run(graph(seed, 0, 0), 1_000_000).get(new NodeId("out"));
        OnceOnlyChecker.Verdict verdict = out.assertOnceOnly(expected);
        assertEquals(expected.size(), verdict.actualRows());
        assertEquals(2, cluster.ferry().rescales().toCompletableFuture().get(30, TimeUnit.SECONDS).size());
      }
    }
  }
}
