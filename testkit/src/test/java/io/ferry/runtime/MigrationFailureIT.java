package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.node.LogicNode;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures in the middle of a move end in a defined state: the node runs, at the source or at
 * the target, the migration's outcome says which and why, and once-only holds at both sinks.
 */
class MigrationFailureIT {

  @TempDir Path dir;

  private static Map<String, String> sites() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    return sites;
  }

  @Test
  void targetMemberCrashesDuringTheMoveAndTheNodeRollsBackToTheSource() throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph("target-crash", 40_000, 4_000, archive);
    // The move holds between relocating the node and restoring it at the target, so the crash lands
    // inside the move. Crashing the target before asking for the move raced the crash probe, which
    // downs a killed member within ~250 ms: the move was then refused (no live member at the site).
    Config hold = ConfigFactory.parseString("ferry.migration.hold-before-restore = 5s");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites(), hold, Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (PipelineHarness run = new PipelineHarness(cluster, d)) {
        run.awaitOutput("src-a", 4_000);
        FerryNode manager = cluster.member("cloud");
        CompletableFuture<MigrationReport> move =
            manager.ferry().migrate(MigrationInstruction.of(d.query().value(), List.of("window-a"), "edge-b")).toCompletableFuture();
        MigrationReport relocated = PipelineHarness.awaitMigration(manager, r -> r.steps().stream().anyMatch(s -> s.name() == MigrationReport.StepName.RELOCATE));
        assertEquals(MigrationReport.Outcome.RUNNING, relocated.outcome(), "the crash must land mid-move");
        cluster.member("edge-b").crash();

        MigrationReport report = move.get(120, TimeUnit.SECONDS);
        assertEquals(MigrationReport.Outcome.ROLLED_BACK, report.outcome(), report.toString());
        assertEquals(Site.of("edge-a"), report.sites().get(new NodeId("window-a")));
        assertTrue(report.reason().contains("did not resume"), report.reason());
        run.awaitRunningAt(cluster, "window-a", "edge-a");

        cluster.startMember("edge-b", "edge");
        run.awaitDone(Duration.ofSeconds(180));
        run.assertOnceOnly(graph, archive);
      }
    }
  }

  @Test
  void managerMemberCrashesDuringTheMoveAndTheMoveRollsForward() throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph("manager-crash", 40_000, 4_000, archive);
    Config hold = ConfigFactory.parseString("ferry.migration.hold-before-restore = 4s");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites(), hold, Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (PipelineHarness run = new PipelineHarness(cluster, d)) {
        run.awaitOutput("src-a", 4_000);
        FerryNode manager = cluster.member("cloud"); // the oldest member hosts the singleton
        FerryNode survivor = cluster.member("edge-a");
        manager.ferry().migrate(MigrationInstruction.of(d.query().value(), List.of("window-a"), "edge-b"));
        MigrationReport relocated = PipelineHarness.awaitMigration(survivor, r -> r.steps().stream().anyMatch(s -> s.name() == MigrationReport.StepName.RELOCATE));
        assertEquals(MigrationReport.Outcome.RUNNING, relocated.outcome(), "the crash must land mid-move");
        manager.crash();
        cluster.startMember("cloud", "cloud");

        MigrationReport ended = PipelineHarness.awaitMigration(cluster.member("edge-a"), MigrationReport::ended);
        assertEquals(MigrationReport.Outcome.COMPLETED, ended.outcome(), ended.toString());
        assertEquals(Site.of("edge-b"), ended.sites().get(new NodeId("window-a")));
        run.awaitRunningAt(cluster, "window-a", "edge-b");
        run.awaitDone(Duration.ofSeconds(180));
        run.assertOnceOnly(graph, archive);
      }
    }
  }
}
