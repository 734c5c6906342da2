package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.RescaleProcess.RescaleReport;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.runtime.FerryNode;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The member hosting every instance of a keyed window crashes while the window is being rescaled
 * 2 → 3 under a live stream (it does not leave; the survivors down it) and a replacement starts at
 * its site. Whether the rescale rolled back before its cut or completed after it, the sink must
 * deliver exactly the rows of a one-instance reference run; a second rescale on the replacement
 * then completes.
 */
@ExtendWith(SeedExtension.class)
@EnabledIfSystemProperty(named = "ferry.rescale.crash-it", matches = "true",
    disabledReason = "three members, a crash and a replacement under a 30 s stream: about a minute; run with -Dferry.rescale.crash-it=true")
class KeyedRescaleCrashIT {
  /** 30 s of stream at 5,000 rows/s: it outlasts the crash, the replacement's start and a second rescale. */
  static final long ROWS = 150_000;

  @TempDir Path dir;

  @Test
  void aCrashOfTheInstancesMemberDuringARescaleLosesAndRepeatsNothing(Seed seed) throws Exception {
    QueryGraph graph = KeyedRescaleIT.graph(seed, 2, 3, ROWS);
    // src and anon at edge-a, every window instance at edge-b (the victim), the sink and the
    // rescale's manager (the singleton on the oldest member) in the cloud
    Placement placement = Placement.builder().place("edge-a", "src", "anon").place("edge-b", "w.0", "w.1", "w.2").place("cloud", "out").build();
    try (TestCluster cluster = TestCluster.builder(dir).site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE).site("edge-b", Tier.EDGE).start()) {
      Deployment d = cluster.deploy(graph, placement);
      FerryNode victim = cluster.cluster().memberAt(d.members().get("w.0"));
      assertEquals("edge-b", victim.settings().site());
      try (SinkReader out = cluster.readSink(d, "out")) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (out.rows().isEmpty() && System.nanoTime() < deadline) {
          Thread.sleep(20); // polling for the first window output, not timing anything
        }
        assertTrue(!out.rows().isEmpty(), "no window output within 60 s");

        CompletableFuture<RescaleReport> rescale = cluster.ferry().rescale(new QueryId("keyed"), KeyedRescaleIT.W, 3).toCompletableFuture();
        victim.crash();
        assertTrue(!out.done(), "the stream ended before the crash: it did not run under load");
        String replacement = cluster.cluster().startMember("edge-b", "edge").address();
        RescaleReport during = rescale.get(120, TimeUnit.SECONDS);
        System.out.println("KeyedRescaleCrashIT rescale with the instances' member crashed: " + during.outcome() + " after " + during.totalMillis()
            + " ms, upstream paused " + during.pauseMillis() + " ms" + (during.reason().isEmpty() ? "" : " (" + during.reason() + ")"));
        assertTrue(during.outcome() == MigrationReport.Outcome.COMPLETED || during.outcome() == MigrationReport.Outcome.ROLLED_BACK, during::toString);

        int to = during.outcome() == MigrationReport.Outcome.COMPLETED ? 1 : 3;
        RescaleReport after = KeyedRescaleIT.rescale(cluster, to);
        assertEquals(MigrationReport.Outcome.COMPLETED, after.outcome(), after::toString);
        assertNotEquals(victim.address(), replacement);

        out.awaitDone(Duration.ofMinutes(3));
        List<Row> expected = ReferenceRun.run(KeyedRescaleIT.graph(seed, 0, 0, ROWS), ROWS + 1).get(new NodeId("out"));
        OnceOnlyChecker.Verdict verdict = out.assertOnceOnly(expected);
        System.out.println("KeyedRescaleCrashIT " + verdict);
        assertEquals(expected.size(), verdict.actualRows());
      }
    }
  }
}
