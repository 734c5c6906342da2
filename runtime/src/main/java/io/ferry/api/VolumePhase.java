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
  WAITING
}
