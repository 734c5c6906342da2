package io.ferry.api;

/**
 * Where a volume migration stands, as {@link VolumeStatus} reports it: the target's phase, or
 * {@link #WAITING} while the target has no live member to ask.
 */
public enum VolumePhase {
  /** The target has no migration recorded yet (it is being created). */
  NEW,
  /** The target recorded the migration; the source has not confirmed its geometry yet. */
  ATTACHING,
  /** The target serves the volume over NBD while blocks copy in the background. */
  COPYING,
  /** Every block is at the target. */
  COPIED,
  /** The migration cannot go on; {@link VolumeStatus#error()} says why. */
  FAILED,
  /** Stopped on request: nothing is served or fetched any more. */
  STOPPED,
  /** The target did not answer (no live member, or it is moving); asking again later may tell more. */
  WAITING,
  /** Every block is at the target; passes ship the change set until it is small enough to cut over. */
  CONVERGING,
  /** The target is the primary: the source's backend is released and the source can be detached. */
  CUT_OVER,
  /** Transfers are paused on request; the export keeps serving. */
  PAUSED,
  /** Aborted: the export is closed and the target's writes are being shipped to the source. */
  ABORTING,
  /** The source is the primary again and holds every write acknowledged at the target. */
  ABORTED,
  /** Reversed after the cut-over: the blocks changed at the target are being shipped back. */
  REVERSING,
  /** The source is the primary again and equals the target as it was when reversed. */
  REVERSED
}
