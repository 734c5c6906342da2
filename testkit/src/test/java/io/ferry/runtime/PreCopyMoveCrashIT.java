package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.node.LogicNode;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crashes of the source's and the target's member while a move runs on a pre-copied snapshot
 * ({@code ferry.migration.pre-copy}, on by default): the node took its snapshot while it ran, so
 * the stop wrote only its checkpoint event and the target recovers from that snapshot plus the few
 * events after it. Whatever member dies, the node ends up running where the migration's outcome
 * says, and both sinks are once-only against the reference run.
 *
 * <p>The default build runs the source's crash during the restore (about 40 s); the other two
 * (about 75 s more) run with {@code -DmoveCrashes=true}.
 */
class PreCopyMoveCrashIT {

  @TempDir Path dir;

  /** The crash lands between relocating the node and restoring it at the target. */
  private static final Config HOLD = ConfigFactory.parseString("ferry.migration.hold-before-restore = 4s");

  private static Map<String, String> sites() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    return sites;
  }

  /**
   * The node pre-copies (the message the placement manager sends before a move's stop) and its
   * member then crashes before any stop: the node's next incarnation recovers from the pre-copied
   * snapshot plus the events after it, and a later move of it completes.
   */
  @Test
  @EnabledIfSystemProperty(named = "moveCrashes", matches = "true")
  void sourceMemberCrashesAfterThePreCopyBeforeTheStop() throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph("pre-copy-source", 40_000, 4_000, archive);
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites(), ConfigFactory.empty(), Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (PipelineHarness run = new PipelineHarness(cluster, d)) {
        run.awaitOutput("src-a", 4_000);
        FerryNode cloud = cluster.member("cloud");
        LogicNode.MoveReply reply = AskPattern.<LogicNode.Command, LogicNode.MoveReply>ask(
                ClusterSharding.get(cloud.system()).entityRefFor(LogicNode.TYPE_KEY, LogicNode.entityId(d.query(), new NodeId("window-a"))),
                r -> new LogicNode.PreCopy("crash-test", r),
                Duration.ofSeconds(20),
                cloud.system().scheduler())
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertTrue(reply instanceof LogicNode.PreCopiedAt, "the node did not pre-copy: " + reply);

        cluster.member("edge-a").crash();
        cluster.startMember("edge-a", "edge");
        run.awaitRunningAt(cluster, "window-a", null);
        MigrationReport report =
            cloud.ferry().migrate(MigrationInstruction.of(d.query().value(), List.of("window-a"), "edge-b")).toCompletableFuture().get(120, TimeUnit.SECONDS);
        assertEquals(MigrationReport.Outcome.COMPLETED, report.outcome(), report.toString());

        run.awaitDone(Duration.ofSeconds(180));
        run.assertOnceOnly(graph, archive);
      }
    }
  }

  /**
   * The move's stop wrote only its checkpoint event on top of the pre-copied snapshot; the source's
   * member crashes before the target restores: the target recovers from the journal alone.
   */
  @Test
  void sourceMemberCrashesWhileTheTargetRestoresFromThePreCopy() throws Exception {
    crashDuringRestore("pre-copy-restore-source", "edge-a");
  }

  /** The target's member crashes before it restores the node: the move ends either way, and nothing is lost or repeated. */
  @Test
  @EnabledIfSystemProperty(named = "moveCrashes", matches = "true")
  void targetMemberCrashesWhileItRestoresFromThePreCopy() throws Exception {
    crashDuringRestore("pre-copy-restore-target", "edge-b");
  }

  private void crashDuringRestore(String name, String victimSite) throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph(name, 40_000, 4_000, archive);
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites(), HOLD, Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (PipelineHarness run = new PipelineHarness(cluster, d)) {
        run.awaitOutput("src-a", 4_000);
        FerryNode manager = cluster.member("cloud"); // the oldest member: hosts the placement manager, never the victim here
        manager.ferry().migrate(MigrationInstruction.of(d.query().value(), List.of("window-a"), "edge-b"));
        MigrationReport relocated = PipelineHarness.awaitMigration(manager, r -> r.steps().stream().anyMatch(s -> s.name() == MigrationReport.StepName.RELOCATE));
        assertEquals(MigrationReport.Outcome.RUNNING, relocated.outcome(), "the crash must land mid-move");
        cluster.member(victimSite).crash();
        cluster.startMember(victimSite, "edge");

        MigrationReport ended = PipelineHarness.awaitMigration(manager, MigrationReport::ended);
        assertTrue(ended.outcome() == MigrationReport.Outcome.COMPLETED || ended.outcome() == MigrationReport.Outcome.ROLLED_BACK, ended.toString());
        String site = ended.sites().get(new NodeId("window-a")).name();
        System.out.println("move after the crash of " + victimSite + ": " + ended.outcome() + ", window-a at " + site + " (" + ended.reason() + ")");
        run.awaitRunningAt(cluster, "window-a", site);
        run.awaitDone(Duration.ofSeconds(180));
        run.assertOnceOnly(graph, archive);
      }
    }
  }
}
