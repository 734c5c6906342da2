package io.ferry.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import java.util.Map;
import java.util.Optional;

/**
 * Where a volume migration stands: its phase, the NBD URL its target serves it at, and both
 * sides' figures: blocks present, bytes per frame kind, rate and ETA at the frontend; what was
 * scanned and sent at the backend. A side is empty while it does not answer.
 */
public record VolumeStatus(
    VolumeSpec spec,
    VolumePhase phase,
    String nbdUrl,
    String frontendMember,
    String backendMember,
    Optional<Frontend> frontend,
    Optional<Backend> backend,
    String error,
    Optional<Changes> changes,
    Optional<Mirror> mirror,
    Optional<PreCopy> preCopy) {

  /** A status of a volume that is not in pre-copy mode. */
  public VolumeStatus(
      VolumeSpec spec, VolumePhase phase, String nbdUrl, String frontendMember, String backendMember, Optional<Frontend> frontend, Optional<Backend> backend, String error,
      Optional<Changes> changes, Optional<Mirror> mirror) {
    this(spec, phase, nbdUrl, frontendMember, backendMember, frontend, backend, error, changes, mirror, Optional.empty());
  }

  /** A status of a volume with one frontend. */
  public VolumeStatus(
      VolumeSpec spec, VolumePhase phase, String nbdUrl, String frontendMember, String backendMember, Optional<Frontend> frontend, Optional<Backend> backend, String error,
      Optional<Changes> changes) {
    this(spec, phase, nbdUrl, frontendMember, backendMember, frontend, backend, error, changes, Optional.empty());
  }

  /** A status without the end-of-life figures (a frontend that has not opened its change log). */
  public VolumeStatus(
      VolumeSpec spec, VolumePhase phase, String nbdUrl, String frontendMember, String backendMember, Optional<Frontend> frontend, Optional<Backend> backend, String error) {
    this(spec, phase, nbdUrl, frontendMember, backendMember, frontend, backend, error, Optional.empty());
  }

  /** Whether the target is the primary (cut over): the source's backend is released and it can be detached. */
  public boolean targetIsPrimary() {
    return changes.map(c -> c.primary().equals("target")).orElse(false);
  }

  /**
   * The end of a migration's life: where writes persist and what the source still lacks.
   *
   * @param writePolicy {@code target-only} or {@code write-back}
   * @param primary {@code source} until the cut-over, {@code target} after it, {@code source} again once aborted or reversed
   * @param sourceDetachable the backend is released and the source image may be detached
   * @param pendingBlocks blocks written at the target that the source lacks
   * @param oldestPendingAgeMillis age of the oldest of them (the RPO achieved under write-back)
   * @param writesTracked writes recorded at the target by this frontend incarnation
   * @param shippedBlocks blocks shipped to and applied at the source by this incarnation
   * @param shipments shipments applied at the source by this incarnation
   * @param pass the convergence pass under way (0 outside CONVERGING)
   * @param lastPassBlocks blocks the previous pass shipped (-1 before the first)
   * @param writesHeld a pass holds the workload's writes (write-blocking: passes stopped shrinking)
   */
  public record Changes(
      String writePolicy,
      String primary,
      boolean sourceDetachable,
      long pendingBlocks,
      long oldestPendingAgeMillis,
      long writesTracked,
      long shippedBlocks,
      long shipments,
      int pass,
      long lastPassBlocks,
      boolean writesHeld) {}

  /**
   * A clustered volume's second frontend, as its primary sees it.
   *
   * @param member where the mirror runs ("" when there is none)
   * @param state {@code in-sync} (it holds every block the primary holds: the export survives the
   *     primary's member with every acknowledged write), {@code syncing} (it holds every write
   *     acknowledged since it joined; the rest is being copied to it), {@code none} (no other live
   *     live mirror: writes wait for the next one, or with {@code ferry.blocks.mirror.unmirrored-writes
   *     = degraded} are acknowledged by the primary alone)
   * @param mirroredBlocks blocks the mirror acknowledged since it joined
   * @param presentBlocks blocks the primary holds
   * @param waiting writes and fills sent to the mirror and not yet acknowledged
   * @param mirroredWrites writes held by the mirror before they were acknowledged, by this primary
   * @param unmirroredWrites writes acknowledged by the primary alone while it had no mirror (degraded only)
   * @param failedWrites writes that failed after waiting {@code ferry.blocks.mirror.hold-limit} for a mirror
   */
  public record Mirror(String member, String state, long mirroredBlocks, long presentBlocks, long waiting, long mirroredWrites, long unmirroredWrites, long failedWrites) {}

  /**
   * A pre-copy volume at its source member (the workload runs there until the cut-over).
   *
   * @param sourceNbdUrl the workload's export at the source ("" once cut over: use {@code nbdUrl})
   * @param phase TRACKING (writes tracked, the background copy fills the target), CONVERGING (passes
   *     run), CUT_OVER (the target is the primary), FAILED (the last passes broke off; the source
   *     stays the primary)
   * @param mode PRE_COPY, or WRITE_BLOCKING once passes stopped shrinking (a write is acknowledged
   *     only when the target holds it too)
   * @param writeBlockingReason why the mode is write-blocking ("" while it is not)
   * @param passes each pass: 0 is the background copy, then the change sets shipped
   * @param changedBlocksNow the change set now: what the next pass ships
   * @param pauseMillis the cut-over pause (the final pass with writes held), -1 before it
   * @param recopy why the next pass recopies every block (the source member restarted and its
   *     change log next to the image could not be read), "" otherwise
   */
  public record PreCopy(
      String sourceNbdUrl,
      String phase,
      String mode,
      String writeBlockingReason,
      java.util.List<Pass> passes,
      long changedBlocksNow,
      long pauseMillis,
      long writesAcknowledged,
      long writesMirrored,
      long writesRefused,
      String recopy,
      String error) {}

  /** One pass: its change set in blocks (-1 for pass 0, the background copy), duration, mode, and whether writes were held. */
  public record Pass(int pass, long changedBlocks, long millis, boolean writeBlocking, boolean writesHeld) {}

  public double percent() {
    return frontend.map(Frontend::percent).orElse(0.0);
  }

  public boolean copied() {
    return frontend.map(Frontend::complete).orElse(false);
  }

  /**
   * The target's figures.
   *
   * @param transfer the background copy's figures; empty until the source's geometry is known
   * @param readsWaiting NBD reads waiting for blocks fetched on demand
   * @param unavailable why the target cannot serve the volume's blocks now (e.g. kept encrypted
   *     at rest and restarted while the source site, which holds the key, is unreachable); empty
   *     while it can
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  public record Frontend(
      VolumeId volume,
      long sizeBytes,
      int blockSizeBytes,
      long blockCount,
      long blocksPresent,
      double percent,
      boolean complete,
      Optional<Transfer> transfer,
      long onDemandBlocksFetched,
      long framesOnDemand,
      long framesBackground,
      long duplicateBlocks,
      long refMisses,
      long corruptFrames,
      long localWrites,
      long readsWaiting,
      Optional<String> unavailable) {}

  /**
   * The background copy as the target counts it: blocks and bytes on the wire per frame kind
   * (ZERO, REF, LZ4, RAW), rates over a sliding window, and the ETA while there is a rate.
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  public record Transfer(
      long blocks,
      int blockSizeBytes,
      long presentBlocks,
      double percent,
      long zeroBlocks,
      long zeroBytes,
      long refBlocks,
      long refBytes,
      long lz4Blocks,
      long lz4Bytes,
      long rawBlocks,
      long rawBytes,
      long wireBytes,
      long logicalBytes,
      double rateBytesPerSecond,
      double logicalRateBytesPerSecond,
      Optional<Double> etaSeconds) {}

  /**
   * The source's figures.
   *
   * @param framesSent frames sent per kind (ZERO, REF, LZ4, RAW)
   * @param bytesSent bytes on the wire per kind
   * @param frontendEndpoint where the source sends blocks
   */
  public record Backend(
      VolumeId volume,
      long sizeBytes,
      int blockSizeBytes,
      long blockCount,
      long blocksScanned,
      boolean scanComplete,
      long zeroBlocks,
      long hotBlocks,
      Map<String, Long> framesSent,
      Map<String, Long> bytesSent,
      long onDemandRefused,
      String frontendEndpoint,
      boolean complete) {}
}
