package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The test an embedder writes with the testkit (the one in testkit/README.md): their own query on a two-site cluster, moved while it runs. */
@ExtendWith(SeedExtension.class)
class TestClusterIT {

  @TempDir Path dir;

  private static QueryGraph myQuery(Seed seed) {
    return Query.named("mine")
        .generate("src", new OperatorSpec.Generate(seed.value(), 8, 20_000, 0, 10, 0, 4_000))
        .filter("big", "src", Predicate.field("value", Predicate.Op.GE, 100L))
        // the owner is PII: dropped at the edge, so what follows may run in the cloud
        .project("anon", "big", Query.project().drop("owner"))
        .filter("even", "anon", Predicate.field("value", Predicate.Op.LT, 250L))
        .collect("out", "even")
        .build();
  }

  @Test
  void myQueryDeliversOnceOnlyWhileANodeMovesToTheCloud(Seed seed) throws Exception {
    QueryGraph graph = myQuery(seed);
    Placement placement = Placement.builder().place("edge-a", "src", "big", "anon", "even").place("cloud", "out").build();
    try (TestCluster cluster = TestCluster.builder(dir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE).start()) {
      Deployment d = cluster.deploy(graph, placement);
      try (SinkReader out = cluster.readSink(d, "out")) {
        MigrationReport moved =
            cluster.ferry().migrate(MigrationInstruction.of(d.query().value(), List.of("even"), "cloud"))
                .toCompletableFuture().get(120, TimeUnit.SECONDS);
        assertEquals(MigrationReport.Outcome.COMPLETED, moved.outcome(), moved::toString);
        out.awaitDone(Duration.ofMinutes(2));
        List<Row> expected = ReferenceRun.run(graph, 1_000_000).get(new NodeId("out"));
        OnceOnlyChecker.Verdict verdict = out.assertOnceOnly(expected);
        assertEquals(expected.size(), verdict.actualRows());

        // The same reader must fail a reference it did not deliver: a checker that cannot fail checks nothing.
        List<Row> oneMore = new ArrayList<>(expected);
        oneMore.add(expected.get(0));
        AssertionError e = assertThrows(AssertionError.class, () -> out.assertOnceOnly(oneMore));
        assertTrue(e.getMessage().contains("lost=1"), e::getMessage);
      }
    }
  }

  @Test
  void partitioningNeedsTheTestModeAndSitesAreChecked() {
    TestCluster.Builder b = TestCluster.builder(dir).site("cloud", Tier.CLOUD);
    assertThrows(IllegalArgumentException.class, () -> b.site("cloud", Tier.EDGE));
    assertThrows(IllegalStateException.class, () -> TestCluster.builder(dir).start());
  }
}
