package io.ferry.testkit.engines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.api.SqlDeployment;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.SinkReader;
import io.ferry.testkit.TestCluster;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a three-site cluster: the demo's SQL runs with a move of a window to the cloud and equals the
 * reference; and random specs (fewer than the local property test draws) give on the distributed
 * engine what the model and the local engine give.
 */
@ExtendWith(SeedExtension.class)
class SqlEnginesIT {
  static final int SPECS = 4;

  @TempDir Path dir;

  @Test
  void sqlOnThreeSitesWithAMoveAndRandomSpecsOnBothEngines(Seed seed) throws Exception {
    try (TestCluster cluster = TestCluster.threeSites(dir)) {
      // The demo's SQL, with fewer rows and a pace so the move happens while it runs.
      String sql = Files.readString(Path.of(System.getProperty("user.dir")).getParent().resolve("examples/demo.sql"))
          .replace("'count' = '5000'", "'count' = '4000', 'rate' = '2000'");
      SqlDeployment.Planned planned = SqlDeployment.plan("sql", sql, new QueryId("readings"), Map.of());
      QueryGraph graph = planned.compiled().graph();
      Deployment d = cluster.deploy(graph, planned.placement());
      NodeId windowA = graph.nodes().stream().filter(n -> n.op() instanceof OperatorSpec.Window && n.inputs().size() == 1
          && planned.placement().sites().get(n.id().value()).equals("edge-a")).map(NodeDef::id).findFirst().orElseThrow();
      try (SinkReader out = cluster.readSink(d, "out")) {
        MigrationReport moved =
            cluster.ferry().migrate(MigrationInstruction.of("readings", List.of(windowA.value()), "cloud")).toCompletableFuture().get(120, TimeUnit.SECONDS);
        assertEquals(MigrationReport.Outcome.COMPLETED, moved.outcome(), moved::toString);
        out.awaitDone(Duration.ofMinutes(3));
        out.assertOnceOnly(ReferenceRun.run(graph, 1_000_000).get(new NodeId("out")));
      }

      Random r = new Random(seed.value());
      for (int i = 0; i < SPECS; i++) {
        // Every shape at least once: a pipeline with a window, a join (two inputs on one node), a union.
        RandomSpecs.Spec drawn = RandomSpecs.draw(r, 300, RandomSpecs.Shape.values()[i % RandomSpecs.Shape.values().length]);
        QueryGraph g = new QueryGraph(new QueryId("prop-" + i), drawn.graph().nodes());
        RandomSpecs.Spec spec = new RandomSpecs.Spec(g, drawn.shape());
        // Everything at one edge site: the generators' owner column is PII.
        Map<String, String> sites = new TreeMap<>();
        g.nodes().forEach(n -> sites.put(n.id().value(), "edge-a"));
        Deployment dep = cluster.deploy(g, new Placement(sites));
        List<Row> distributed;
        try (SinkReader out = cluster.readSink(dep, "out")) {
          out.awaitDone(Duration.ofMinutes(2));
          distributed = out.rows();
        }
        List<Row> model = Model.run(spec);
        ActorSystem<?> system = cluster.member("edge-a").system();
        List<Row> local = io.ferry.runtime.local.LocalEngine.start(g, system, 7).result().toCompletableFuture().get(60, TimeUnit.SECONDS)
            .sinks().get(new NodeId("out"));
        String what = "seed " + seed.value() + " spec " + i + " " + g.nodes();
        if (Model.unordered(spec)) {
          assertEquals(Model.multiset(model), Model.multiset(distributed), what);
          assertEquals(Model.multiset(model), Model.multiset(local), what);
        } else {
          assertEquals(model, distributed, what);
          assertEquals(model, local, what);
        }
      }
    }
  }
}
