package io.ferry.api;

/** What a user asks of a running volume migration (issue 14); each is a persisted phase at the target. */
public enum VolumeAction {
  /** Converge (passes until the change set is below the threshold), then make the target the primary. */
  CUTOVER,
  /** Stop the transfers; the export keeps serving. */
  PAUSE,
  RESUME,
  /** Before the cut-over: the source stays the primary; the target's writes are shipped back first. */
  ABORT,
  /** After the cut-over: back to the source, shipping only the blocks changed at the target. */
  REVERSE
}
