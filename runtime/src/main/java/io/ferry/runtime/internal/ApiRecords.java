package io.ferry.runtime.internal;

import io.ferry.api.Deployment;
import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.api.SinkRows;
import io.ferry.api.VolumeAccepted;
import io.ferry.api.VolumeInfo;
import io.ferry.api.VolumePhase;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.BackendVolume;
import io.ferry.blocks.BlockBackend;
import io.ferry.blocks.BlockFrontend;
import io.ferry.blocks.FrontendVolume;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import io.ferry.query.node.LogicNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one place the actors' messages become the public API's records: {@code io.ferry.api.Ferry}
 * calls these, so no {@code ActorRef} or protocol type reaches an embedder, and a change to a
 * protocol's fields is absorbed here.
 */
public final class ApiRecords {
  private ApiRecords() {}

  public static Deployment deployment(QueryRegistry.Deployed d) {
    return new Deployment(d.query(), d.deploymentId(), d.members());
  }

  /** The report is already a public record of actors' placement package; it passes as it is. */
  public static MigrationReport report(QueryRegistry.MigrationEnded ended) {
    return ended.report();
  }

  public static List<MigrationReport> reports(QueryRegistry.Migrations migrations) {
    return migrations.migrations();
  }

  public static QueryInfo query(QueryRegistry.QueryInfo q) {
    return new QueryInfo(q.query(), q.deploymentId(), q.nodes(), q.sites(), q.members(), q.engine());
  }

  /** {@code s} of node {@code node} of {@code query}: the entity id names both, the status keeps them typed. */
  public static NodeStatus nodeStatus(QueryId query, NodeId node, LogicNode.NodeStatus s) {
    return new NodeStatus(
        query,
        node,
        s.address(),
        s.configured(),
        s.deploymentId(),
        s.inputAnchors(),
        s.outputAnchor(),
        s.retainedRows(),
        s.done(),
        s.pausedBy().isEmpty() ? Optional.empty() : Optional.of(s.pausedBy()));
  }

  public static SinkRows sinkRows(LogicNode.SinkRows r) {
    return new SinkRows(r.from(), r.rows(), r.next(), r.done(), r.gap());
  }

  public static VolumeInfo volume(VolumeRegistry.VolumeInfo v) {
    return new VolumeInfo(v.spec(), v.backendMember(), v.frontendMember());
  }

  public static VolumeAccepted accepted(VolumeRegistry.Accepted a) {
    return new VolumeAccepted(a.volume(), a.backendMember(), a.frontendMember());
  }

  /**
   * A volume's status from its registry entry and what its halves answered (empty: no answer in
   * time): the phase is the frontend's, WAITING while it does not answer; the error is the
   * backend's when it has one, else the frontend's.
   */
  public static VolumeStatus volumeStatus(
      VolumeRegistry.VolumeInfo info, Optional<BlockFrontend.StatusReply> frontend, Optional<BlockBackend.StatusReply> backend) {
    VolumePhase phase = frontend.map(f -> phase(f.phase())).orElse(VolumePhase.WAITING);
    String error =
        backend.map(BlockBackend.StatusReply::error).filter(e -> !e.isEmpty()).or(() -> frontend.map(BlockFrontend.StatusReply::error)).orElse("");
    // A pre-copy volume's workload uses the source's export until the cut-over: that is its URL then.
    String nbdUrl = frontend.map(BlockFrontend.StatusReply::nbdUrl).filter(u -> !u.isEmpty())
        .or(() -> backend.map(BlockBackend.StatusReply::sourceNbdUrl).filter(u -> u != null && !u.isEmpty())).orElse("");
    return new VolumeStatus(
        info.spec(),
        phase,
        nbdUrl,
        info.frontendMember(),
        info.backendMember(),
        frontend.flatMap(BlockFrontend.StatusReply::status).map(ApiRecords::frontend),
        backend.flatMap(BlockBackend.StatusReply::status).map(ApiRecords::backend),
        error,
        frontend.flatMap(BlockFrontend.StatusReply::changes).map(ApiRecords::changes),
        frontend.flatMap(BlockFrontend.StatusReply::mirror)
            .map(m -> new VolumeStatus.Mirror(m.member(), m.state(), m.mirroredBlocks(), m.presentBlocks(), m.waiting(), m.mirroredWrites(), m.unmirroredWrites(), m.failedWrites())),
        backend.filter(b -> b.preCopy() != null).map(b -> preCopy(b.preCopy(), b.sourceNbdUrl())));
  }

  static VolumeStatus.PreCopy preCopy(io.ferry.blocks.precopy.PreCopyLife.View v, String sourceNbdUrl) {
    return new VolumeStatus.PreCopy(
        sourceNbdUrl == null ? "" : sourceNbdUrl,
        v.phase(),
        v.mode(),
        v.writeBlockingReason(),
        v.passes().stream().map(p -> new VolumeStatus.Pass(p.pass(), p.changedBlocks(), p.millis(), p.writeBlocking(), p.writesHeld())).toList(),
        v.changedBlocksNow(),
        v.pauseMillis(),
        v.writesAcknowledged(),
        v.writesMirrored(),
        v.writesRefused(),
        v.recopy(),
        v.error());
  }

  static VolumeStatus.Changes changes(BlockFrontend.Changes c) {
    return new VolumeStatus.Changes(
        c.writePolicy(), c.primary(), c.sourceDetachable(), c.pendingBlocks(), c.oldestPendingAgeMillis(), c.writesTracked(), c.shippedBlocks(), c.shipments(), c.pass(), c.lastPassBlocks(), c.writesHeld());
  }

  /** A phase label of {@code VolumeMigration.Phase#label()} as the API's enum; a label it does not know is a bug here. */
  public static VolumePhase phase(String label) {
    return switch (label) {
      case "NEW" -> VolumePhase.NEW;
      case "ATTACHING" -> VolumePhase.ATTACHING;
      case "COPYING" -> VolumePhase.COPYING;
      case "COPIED" -> VolumePhase.COPIED;
      case "FAILED" -> VolumePhase.FAILED;
      case "STOPPED" -> VolumePhase.STOPPED;
      case "CONVERGING" -> VolumePhase.CONVERGING;
      case "CUT_OVER" -> VolumePhase.CUT_OVER;
      case "PAUSED" -> VolumePhase.PAUSED;
      case "ABORTING" -> VolumePhase.ABORTING;
      case "ABORTED" -> VolumePhase.ABORTED;
      case "REVERSING" -> VolumePhase.REVERSING;
      case "REVERSED" -> VolumePhase.REVERSED;
      default -> throw new IllegalStateException("volume phase '" + label + "' has no io.ferry.api.VolumePhase: add it there and here");
    };
  }

  static VolumeStatus.Frontend frontend(FrontendVolume.FrontendStatus f) {
    return new VolumeStatus.Frontend(
        f.volume(),
        f.sizeBytes(),
        f.blockSizeBytes(),
        f.blockCount(),
        f.blocksPresent(),
        f.percent(),
        f.complete(),
        f.transfer().isEmpty() ? Optional.empty() : Optional.of(transfer(f.transfer())),
        f.onDemandBlocksFetched(),
        f.framesOnDemand(),
        f.framesBackground(),
        f.duplicateBlocks(),
        f.refMisses(),
        f.corruptFrames(),
        f.localWrites(),
        f.readsWaiting(),
        f.unavailable().isEmpty() ? Optional.empty() : Optional.of(f.unavailable()));
  }

  /** The frontend's transfer map (TransferProgress.snapshot, numbers possibly narrowed by CBOR) as a typed record. */
  static VolumeStatus.Transfer transfer(Map<String, Object> t) {
    return new VolumeStatus.Transfer(
        number(t, "blocks").longValue(),
        number(t, "blockSizeBytes").intValue(),
        number(t, "presentBlocks").longValue(),
        number(t, "percent").doubleValue(),
        number(t, "zeroBlocks").longValue(),
        number(t, "zeroBytes").longValue(),
        number(t, "refBlocks").longValue(),
        number(t, "refBytes").longValue(),
        number(t, "lz4Blocks").longValue(),
        number(t, "lz4Bytes").longValue(),
        number(t, "rawBlocks").longValue(),
        number(t, "rawBytes").longValue(),
        number(t, "wireBytes").longValue(),
        number(t, "logicalBytes").longValue(),
        number(t, "rateBytesPerSecond").doubleValue(),
        number(t, "logicalRateBytesPerSecond").doubleValue(),
        t.containsKey("etaSeconds") ? Optional.of(number(t, "etaSeconds").doubleValue()) : Optional.empty());
  }

  private static Number number(Map<String, Object> m, String key) {
    if (!(m.get(key) instanceof Number n)) {
      throw new IllegalStateException("the frontend's transfer figures lack a number '" + key + "': " + m);
    }
    return n;
  }

  static VolumeStatus.Backend backend(BackendVolume.BackendStatus b) {
    return new VolumeStatus.Backend(
        b.volume(),
        b.sizeBytes(),
        b.blockSizeBytes(),
        b.blockCount(),
        b.blocksScanned(),
        b.scanComplete(),
        b.zeroBlocks(),
        b.hotBlocks(),
        Map.copyOf(b.framesSent()),
        Map.copyOf(b.bytesSent()),
        b.onDemandRefused(),
        b.frontendEndpoint(),
        b.complete());
  }
}
