package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.FerryException;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live moves of logic nodes between sites while the sample query runs under load, with once-only
 * checked at both sinks afterwards; and moves that must be refused.
 */
class MigrationIT {

  @TempDir Path dir;
  private LocalCluster cluster;

  @BeforeEach
  void start() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    cluster = LocalCluster.start(dir.resolve("data"), sites, journal(), Duration.ofSeconds(60));
  }

  /** The journal the members use: the embedded H2 default here; {@link MigrationCassandraIT} overrides it. */
  protected Config journal() {
    return ConfigFactory.empty();
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private Deployment deploy(QueryGraph graph) throws Exception {
    return cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private MigrationReport move(Deployment d, String to, String... nodes) throws Exception {
    MigrationReport r =
        cluster.any().ferry().migrate(MigrationInstruction.of(d.query().value(), List.of(nodes), to))
            .toCompletableFuture().get(120, TimeUnit.SECONDS);
    assertEquals(MigrationReport.Outcome.COMPLETED, r.outcome(), "move of " + List.of(nodes) + " to " + to + ": " + r);
    for (String n : nodes) {
      assertEquals(Site.of(to), r.sites().get(new NodeId(n)));
    }
    return r;
  }

  @Test
  void windowMovesEdgeToCloudAndBackTenTimesUnderLoad() throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph("moves", 60_000, 4_000, archive);
    Deployment d = deploy(graph);
    try (PipelineHarness run = new PipelineHarness(cluster, d)) {
      List<Long> pauses = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        long before = run.outputOf("window-a");
        pauses.add(move(d, "cloud", "window-a").pauseMillis());
        pauses.add(move(d, "edge-a", "window-a").pauseMillis());
        if (i == 0) {
          assertTrue(run.outputOf("window-a") >= before, "window-a went backwards");
          // The first round at least must run while data flows; how many of the rest do depends on
          // how fast a loaded machine moves (the sources end after 15 s at 4,000 rows/s).
          assertTrue(run.outputOf("src-a") < 60_000, "the moves must happen while data flows");
        }
      }
      System.out.println("window-a move pauses (ms): " + pauses);
      run.awaitDone(Duration.ofSeconds(120));
      run.assertOnceOnly(graph, archive);
    }
  }

  @Test
  void sinkWindowTogetherAndEdgeToEdgeMovesUnderLoad() throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph("mixed", 40_000, 4_000, archive);
    Deployment d = deploy(graph);
    try (PipelineHarness run = new PipelineHarness(cluster, d)) {
      move(d, "edge-a", SampleQuery.SINK);
      // The first move at least must run while data flows; how many of the rest do depends on how
      // fast a loaded machine moves (the sources end after 10 s at 4,000 rows/s; a CI run at load
      // 20 finished all seven after they had).
      assertTrue(run.outputOf("src-a") < 40_000, "the moves must happen while data flows");
      move(d, "cloud", SampleQuery.SINK);
      MigrationReport together = move(d, "edge-b", "window-a", SampleQuery.SINK);
      assertEquals(List.of(new NodeId(SampleQuery.SINK), new NodeId("window-a")), together.nodes(), "a sub-graph is stopped downstream-first");
      move(d, "cloud", SampleQuery.SINK);
      move(d, "edge-a", "window-a");
      move(d, "edge-a", "window-b");
      move(d, "edge-b", "window-b");
      run.awaitDone(Duration.ofSeconds(120));
      run.assertOnceOnly(graph, archive);
    }
  }

  @Test
  void refusedMovesChangeNothing() throws Exception {
    QueryGraph graph = SampleQuery.graph("refusals", 1_000, 0, null);
    Deployment d = cluster.any().ferry().deploy(graph, SampleQuery.placement(false)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    Ferry ferry = cluster.any().ferry();
    assertTrue(refusal(ferry, MigrationInstruction.of(d.query().value(), List.of("filter-a"), "cloud")).contains("PII"));
    assertTrue(refusal(ferry, MigrationInstruction.of(d.query().value(), List.of("src-a"), "cloud")).contains("PII"));
    assertTrue(refusal(ferry, MigrationInstruction.of("nope", List.of("window-a"), "cloud")).contains("unknown query"));
    assertTrue(refusal(ferry, MigrationInstruction.of(d.query().value(), List.of("nope"), "cloud")).contains("no node 'nope'"));
    assertTrue(refusal(ferry, MigrationInstruction.of(d.query().value(), List.of("window-a"), "mars")).contains("unknown site 'mars'"));
    assertTrue(refusal(ferry, MigrationInstruction.of(d.query().value(), List.of("window-a"), "edge-a")).contains("already runs"));
    assertTrue(ferry.migrations().toCompletableFuture().get(10, TimeUnit.SECONDS).isEmpty(), "a refused move must not be recorded as started");
    assertEquals("edge-a", ferry.queries().toCompletableFuture().get(10, TimeUnit.SECONDS).get(0).sites().get("filter-a"));

    QueryGraph leaky =
        Query.named("leaky")
            .generate("src", new OperatorSpec.Generate(1, 2, 10, 0, 1, 0, 0))
            .collect("out", "src")
            .build();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> ferry.deploy(leaky, Placement.builder().place("edge-a", "src").place("cloud", "out").build()).toCompletableFuture().get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof FerryException && e.getCause().getMessage().contains("PII"), String.valueOf(e.getCause()));
  }

  private static String refusal(Ferry ferry, MigrationInstruction in) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> ferry.migrate(in).toCompletableFuture().get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof FerryException, "expected a refusal, got " + e.getCause());
    return e.getCause().getMessage();
  }
}
