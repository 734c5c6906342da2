package io.ferry.query.node;

/**
 * Where a move's checkpoint takes a snapshot, and whether a node can pre-copy: one rule for the
 * logic node's shell ({@link LogicNode}) and the simulator's deterministic tier, which drives it.
 *
 * <p>A pre-copy ({@link NodeEvent.PreCopied}) snapshots while the node still runs. The move's stop
 * ({@link NodeEvent.Paused}) then takes no snapshot of its own if it comes at most {@link
 * #PRE_COPY_DELTA_EVENTS_MAX} events later: the target replays those events after the pre-copy's
 * snapshot, which for a large state is far cheaper than writing and reading a second snapshot
 * inside the pause. The checkpoint stays the {@code Paused} sequence number either way; a snapshot
 * only shortens the recovery up to it, so a lost snapshot costs time, never rows.
 */
public final class MoveCheckpoint {

  /** A pause this many events or fewer after a pre-copy takes no snapshot of its own. */
  public static final long PRE_COPY_DELTA_EVENTS_MAX = 50;

  private MoveCheckpoint() {}

  /**
   * Whether {@code event}, persisted at {@code seqNr}, is followed by a snapshot for a move;
   * {@code preCopiedSeqNr}: this incarnation's last pre-copy, or a value {@code <= 0} for none.
   */
  public static boolean snapshotAfter(NodeEvent event, long seqNr, long preCopiedSeqNr) {
    if (event instanceof NodeEvent.PreCopied) {
      return true;
    }
    return event instanceof NodeEvent.Paused && !(preCopiedSeqNr > 0 && seqNr - preCopiedSeqNr <= PRE_COPY_DELTA_EVENTS_MAX);
  }

  /** Whether a pre-copy gains anything: a node not running yet, retired or already paused takes its snapshot at the stop. */
  public static boolean canPreCopy(NodeState state) {
    return state.configured() && !state.retired() && state.pausedBy().isEmpty();
  }
}
