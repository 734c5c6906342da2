package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.check.OnceOnlyChecker;
import io.ferry.check.ReferenceRun;
import io.ferry.cli.SampleQuery;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.node.LogicNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three members (cloud, edge-a, edge-b), each its own ActorSystem, sharing the H2 journal. The
 * sample query runs; the member hosting one node is crashed mid-stream (it does not leave; the
 * survivors down it) and a replacement starts at the same site. Both sinks must then equal the
 * reference run: nothing lost, nothing duplicated.
 */
class CrashRecoveryIT {

  private static final long RECORDS = 40_000;
  private static final long RATE = 8_000;

  @TempDir Path dir;

  @Test
  void crashOfTheWindowMemberLosesAndRepeatsNothing() throws Exception {
    runWithCrashOf("window-a");
  }

  @Test
  void crashOfTheSinkMemberLosesAndRepeatsNothing() throws Exception {
    runWithCrashOf(SampleQuery.SINK);
  }

  private void runWithCrashOf(String victimNode) throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = SampleQuery.graph("crash-" + victimNode, RECORDS, RATE, archive);
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      String victimAddress = d.members().get(victimNode);
      FerryNode victim = cluster.memberAt(victimAddress);

      List<Row> rows = new ArrayList<>();
      long after = 0;
      boolean crashed = false;
      String replacement = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (true) {
        assertTrue(System.nanoTime() < deadline, "the pipeline did not finish; " + rows.size() + " rows read");
        FerryNode reader = cluster.live().stream().filter(n -> n != victim).findFirst().orElseThrow();
        LogicNode.SinkRows batch = read(reader, d, after);
        if (batch != null) {
          assertTrue(!batch.gap(), "the sink dropped rows before they were read");
          rows.addAll(batch.rows());
          after = batch.next();
          if (batch.done()) {
            break;
          }
        }
        if (!crashed && sourceAnchor(reader, d) >= RECORDS / 4) {
          crashed = true;
          victim.crash();
          replacement = cluster.startMember(victim.settings().site(), victim.settings().tier()).address();
        }
        if (batch == null || batch.rows().isEmpty()) {
          Thread.onSpinWait();
          TimeUnit.MILLISECONDS.sleep(20);
        }
      }
      assertTrue(crashed, "the crash never happened: the test proves nothing");

      List<Row> expected = ReferenceRun.run(graph, 10_000_000).get(new NodeId(SampleQuery.SINK));
      OnceOnlyChecker.Verdict sink = OnceOnlyChecker.check(expected, rows);
      assertTrue(sink.ok(), "in-cluster sink: " + sink);
      assertEquals(expected.size(), rows.size());

      awaitArchiveDone(cluster, d);
      OnceOnlyChecker.Verdict file = OnceOnlyChecker.check(expected, io.ferry.cli.DemoAccess.readArchive(graph, archive));
      assertTrue(file.ok(), "file sink: " + file);

      // The registry re-places the node on the replacement once sharding has released it from the
      // crashed member; under load that may come after the pipeline has finished.
      String finalReplacement = replacement;
      long placedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      String where = "";
      while (System.nanoTime() < placedBy) {
        try {
          where = cluster.any().ferry().entity(d.query(), new NodeId(victimNode))
              .<LogicNode.NodeStatus>ask(LogicNode.GetStatus::new, Duration.ofSeconds(5)).toCompletableFuture().get(10, TimeUnit.SECONDS)
              .address();
        } catch (Exception e) {
          where = "unreachable: " + e;
        }
        if (where.equals(finalReplacement)) {
          break;
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
      assertNotEquals(victimAddress, where, "the node still claims the crashed member");
      assertEquals(finalReplacement, where, victimNode + " must run on the replacement member at its own site");
    }
  }

  private static LogicNode.SinkRows read(FerryNode reader, Deployment d, long after) {
    try {
      return reader.ferry().read(d.query(), new NodeId(SampleQuery.SINK), after, 5000).toCompletableFuture().get(3, TimeUnit.SECONDS);
    } catch (Exception e) {
      return null; // the sink is moving or its member is down: read again
    }
  }

  private static long sourceAnchor(FerryNode via, Deployment d) {
    try {
      return via.ferry().entity(d.query(), new NodeId("src-a"))
          .<LogicNode.NodeStatus>ask(LogicNode.GetStatus::new, Duration.ofSeconds(2)).toCompletableFuture().get(3, TimeUnit.SECONDS)
          .outputAnchor();
    } catch (Exception e) {
      return 0;
    }
  }

  private static void awaitArchiveDone(LocalCluster cluster, Deployment d) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        LogicNode.NodeStatus s =
            cluster.any().ferry().entity(d.query(), new NodeId(SampleQuery.ARCHIVE))
                .<LogicNode.NodeStatus>ask(LogicNode.GetStatus::new, Duration.ofSeconds(2)).toCompletableFuture().get(3, TimeUnit.SECONDS);
        if (s.done()) {
          return;
        }
      } catch (Exception e) {
        // moving: ask again
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    throw new AssertionError("the archive sink did not finish");
  }
}
