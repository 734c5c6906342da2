package io.ferry.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.api.VolumePhase;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.MigrationId;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SnapshotAssemblerTest {

  private static final String EDGE = "pekko://ferry@127.0.0.1:1";
  private static final String CLOUD = "pekko://ferry@127.0.0.1:2";
  private static final QueryId Q = new QueryId("q1");

  private static final List<ClusterView.ClusterMember> MEMBERS =
      List.of(
          new ClusterView.ClusterMember(EDGE, Set.copyOf(MemberRoles.of(Site.of("edge-a"), Tier.EDGE)), "Up", true),
          new ClusterView.ClusterMember(CLOUD, Set.copyOf(MemberRoles.of(Site.of("cloud"), Tier.CLOUD)), "Up", false));

  private static final QueryInfo QUERY =
      new QueryInfo(
          Q,
          "d1",
          List.of(
              new NodeSpec(Q, new NodeId("src"), new OperatorSpec.Generate(1, 2, -1, 0, 1, 0, 0), List.of(), List.of(new NodeId("out")), null, null),
              new NodeSpec(Q, new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("src")), List.of(), null, null)),
          Map.of("src", "edge-a", "out", "cloud"),
          Map.of("src", EDGE, "out", CLOUD));

  private static NodeStatus status(String node, long output, long retained, Optional<String> pausedBy) {
    return new NodeStatus(Q, new NodeId(node), EDGE, true, "d1", Map.of(), output, retained, false, pausedBy);
  }

  private static MemberLoad load(String address, long batches, double millis) {
    return new MemberLoad(address, 0.25, 100, 1000, List.of(new MemberLoad.TimerTotal("q1/out", batches, millis)), List.of());
  }

  private static ClusterView view(long at, long srcOut, long outBatches, double outMillis) {
    return new ClusterView(
        at,
        EDGE,
        MEMBERS,
        Map.of(EDGE, new MemberLoad(EDGE, -1, 50, -1, List.of(), List.of()), CLOUD, load(CLOUD, outBatches, outMillis)),
        Optional.of(List.of(QUERY)),
        Map.of("q1", Map.of("src", status("src", srcOut, 7, Optional.empty()), "out", status("out", 0, 0, Optional.of("m-1")))),
        Optional.of(List.of()),
        Optional.of(List.of()),
        Map.of());
  }

  @Test
  void membersCarrySiteTierReachabilityAndLoad() {
    ConsoleSnapshot s = new SnapshotAssembler(SnapshotAssembler.Limits.DEFAULT).assemble(view(1_000, 0, 0, 0));
    ConsoleSnapshot.Member edge = s.members().get(0);
    ConsoleSnapshot.Member cloud = s.members().get(1);
    assertEquals(List.of("edge-a", "edge", "Up", true), List.of(edge.site(), edge.tier(), edge.status(), edge.reachable()));
    assertEquals(Optional.empty(), edge.cpu(), "a negative CPU figure means the JVM did not tell");
    assertEquals(Optional.empty(), edge.heapMaxBytes(), "a negative heap limit means none");
    assertEquals(List.of("cloud", "cloud", false), List.of(cloud.site(), cloud.tier(), cloud.reachable()));
    assertEquals(Optional.of(0.25), cloud.cpu());
    assertEquals(Optional.of(1000L), cloud.heapMaxBytes());
  }

  @Test
  void nodesAreDrawnAtTheirSitesWithRatesAndLatenciesSinceThePreviousSnapshot() {
    SnapshotAssembler assembler = new SnapshotAssembler(SnapshotAssembler.Limits.DEFAULT);
    ConsoleSnapshot first = assembler.assemble(view(10_000, 1_000, 4, 40));
    ConsoleSnapshot.Node src = first.queries().get(0).nodes().get(0);
    ConsoleSnapshot.Node out = first.queries().get(0).nodes().get(1);
    assertEquals(List.of("src", "generate", "edge-a", "running"), List.of(src.node(), src.kind(), src.site(), src.state()));
    assertEquals(List.of("out", "collect", "cloud", "paused"), List.of(out.node(), out.kind(), out.site(), out.state()));
    assertEquals(List.of("src"), out.inputs());
    assertTrue(out.sink() && !src.sink());
    assertEquals(Optional.empty(), src.rowsPerSecond(), "no rate before a second snapshot");
    assertEquals(Optional.of(10.0), out.latencyMillis(), "the first snapshot averages everything the timer recorded");
    assertEquals(7, src.backlogRows());

    // Two seconds later: 600 more rows out, 2 more batches taking 30 ms in all.
    ConsoleSnapshot second = assembler.assemble(view(12_000, 1_600, 6, 70));
    assertEquals(Optional.of(300.0), second.queries().get(0).nodes().get(0).rowsPerSecond());
    assertEquals(Optional.of(15.0), second.queries().get(0).nodes().get(1).latencyMillis());

    // No batch since: no latency figure rather than a stale one.
    ConsoleSnapshot third = assembler.assemble(view(13_000, 1_600, 6, 70));
    assertEquals(Optional.of(0.0), third.queries().get(0).nodes().get(0).rowsPerSecond());
    assertEquals(Optional.empty(), third.queries().get(0).nodes().get(1).latencyMillis());

    // The node left the member and came back: its timer starts from zero again, so its totals went down.
    ConsoleSnapshot fourth = assembler.assemble(view(14_000, 1_700, 2, 8));
    assertEquals(Optional.of(4.0), fourth.queries().get(0).nodes().get(1).latencyMillis());
  }

  @Test
  void aNodeThatDoesNotAnswerIsUnknownAndHasNoRate() {
    SnapshotAssembler assembler = new SnapshotAssembler(SnapshotAssembler.Limits.DEFAULT);
    assembler.assemble(view(1_000, 100, 0, 0));
    ClusterView moving =
        new ClusterView(2_000, EDGE, MEMBERS, Map.of(), Optional.of(List.of(QUERY)), Map.of(), Optional.empty(), Optional.empty(), Map.of("migrations", "no answer"));
    ConsoleSnapshot s = assembler.assemble(moving);
    ConsoleSnapshot.Node src = s.queries().get(0).nodes().get(0);
    assertEquals("unknown", src.state());
    assertEquals(Optional.empty(), src.rowsPerSecond());
    assertEquals(Map.of("migrations", "no answer"), s.unavailable());
    assertEquals(Optional.empty(), s.members().get(1).cpu(), "a member whose probe did not answer has no load figures");
  }

  @Test
  void listsOverTheirLimitsAreCutAndNamed() {
    List<MigrationReport> migrations = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      migrations.add(
          new MigrationReport(new MigrationId("m-" + i), Q, List.of(new NodeId("src")), Map.of(), Site.of("cloud"), MigrationReport.Outcome.COMPLETED, "", List.of(), Map.of(), 100 - i, 200));
    }
    ClusterView v =
        new ClusterView(1_000, EDGE, MEMBERS, Map.of(), Optional.of(List.of(QUERY)), Map.of(), Optional.of(migrations), Optional.empty(), Map.of());
    ConsoleSnapshot s = new SnapshotAssembler(new SnapshotAssembler.Limits(1, 1, 1, 2, 1)).assemble(v);
    assertEquals(1, s.members().size());
    assertEquals(1, s.queries().get(0).nodes().size());
    assertEquals(List.of("m-1", "m-0"), s.migrations().stream().map(m -> m.id().value()).toList(), "the newest migrations are kept, oldest first");
    assertEquals(List.of("1 members (limit 1)", "1 nodes of query q1 (limit 1)", "3 older migrations (limit 2)"), s.truncated());
  }

  @Test
  void volumesCarryProgressBytesByKindAndOnDemandLatency() {
    VolumeSpec spec = new VolumeSpec(new VolumeId("vol1"), "edge-a", "/tmp/x.img", "cloud", 65536, "");
    VolumeStatus.Transfer transfer = new VolumeStatus.Transfer(100, 65536, 40, 40.0, 1, 10, 2, 20, 3, 30, 4, 40, 100, 400, 1000.0, 4000.0, Optional.of(6.0));
    VolumeStatus.Frontend frontend =
        new VolumeStatus.Frontend(new VolumeId("vol1"), 6553600, 65536, 100, 40, 40.0, false, Optional.of(transfer), 5, 5, 35, 0, 0, 0, 0, 0, Optional.empty());
    VolumeStatus status = new VolumeStatus(spec, VolumePhase.COPYING, "nbd://x", CLOUD, EDGE, Optional.of(frontend), Optional.empty(), null);
    MemberLoad cloud = new MemberLoad(CLOUD, 0.1, 1, 2, List.of(), List.of(new MemberLoad.TimerTotal("vol1", 4, 20)));
    ClusterView v = new ClusterView(1_000, EDGE, MEMBERS, Map.of(CLOUD, cloud), Optional.empty(), Map.of(), Optional.empty(), Optional.of(List.of(status)), Map.of());
    ConsoleSnapshot.Volume vol = new SnapshotAssembler(SnapshotAssembler.Limits.DEFAULT).assemble(v).volumes().get(0);
    assertEquals(List.of("vol1", "edge-a", "cloud", "COPYING", ""), List.of(vol.volume(), vol.from(), vol.to(), vol.phase(), vol.error()));
    assertEquals(40.0, vol.percent());
    assertEquals(Map.of("zero", 10L, "ref", 20L, "lz4", 30L, "raw", 40L), vol.bytesByKind());
    assertEquals(1000.0, vol.rateBytesPerSecond());
    assertEquals(Optional.of(6.0), vol.etaSeconds());
    assertEquals(5, vol.onDemandBlocks());
    assertEquals(Optional.of(5.0), vol.onDemandLatencyMillis());
  }

  @Test
  void aSnapshotOverItsByteLimitIsSentWithMembersOnlyAndSaysSo() throws Exception {
    ConsoleSnapshot s = new SnapshotAssembler(SnapshotAssembler.Limits.DEFAULT).assemble(view(1_000, 5, 1, 1));
    String whole = ConsoleSnapshots.json(s, 1 << 20);
    JsonNode json = new ObjectMapper().readTree(whole);
    assertEquals("out", json.path("queries").get(0).path("nodes").get(1).path("node").asText());
    assertEquals("cloud", json.path("queries").get(0).path("nodes").get(1).path("site").asText());
    assertFalse(json.path("members").get(0).has("cpu"), "an empty figure is left out, not written as null: " + whole);

    String cut = ConsoleSnapshots.json(s, whole.length() - 1);
    JsonNode small = new ObjectMapper().readTree(cut);
    assertTrue(cut.length() < whole.length(), cut);
    assertEquals(0, small.path("queries").size());
    assertEquals(2, small.path("members").size());
    assertTrue(small.path("truncated").get(0).asText().contains("ferry.console.snapshot-bytes-max"), cut);
  }
}
