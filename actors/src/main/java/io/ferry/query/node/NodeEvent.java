package io.ferry.query.node;

import io.ferry.persistence.CborSerializable;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.OperatorDelta;
import java.util.List;

/** What a logic node persists. One {@link BatchProcessed} per input batch. */
public sealed interface NodeEvent extends CborSerializable {

  /** The node learned what it runs; a new deployment id starts it afresh. */
  record Configured(NodeSpec spec, String deploymentId) implements NodeEvent {}

  /**
   * One input batch, handled: the input anchor moved from {@code from} to {@code next} on {@code
   * upstream} (the node itself for a source), the operator changed by {@code delta}, and {@code
   * outputs} were appended to the output log. Input anchor, state and output move together, so a
   * node that restarts anywhere resumes exactly here.
   */
  record BatchProcessed(
      NodeId upstream,
      long from,
      long next,
      boolean upstreamDone,
      OperatorDelta delta,
      List<Row> outputs,
      boolean outputDone)
      implements NodeEvent {}

  /** The query was undeployed: the node takes no more input and serves nothing. */
  record Retired(String deploymentId) implements NodeEvent {}

  /**
   * The node stopped taking input for a move (the checkpoint): it still serves its consumers, and
   * a snapshot is taken with this event.
   */
  record Paused(String migrationId) implements NodeEvent {}

  /** The move is over (at the target, or rolled back at the source): the node takes input again. */
  record Resumed(String migrationId) implements NodeEvent {}

  /**
   * A rescale handed this instance of a keyed node the key groups {@code [firstGroup, endGroup)} and
   * their state, cut at input anchor {@code anchor} of its upstream (where every instance stood,
   * the upstream paused): the operator now holds exactly {@code state}. Its output log stays.
   */
  record Regrouped(String rescaleId, int firstGroup, int endGroup, long anchor, io.ferry.query.ops.OperatorState state)
      implements NodeEvent {}

  /**
   * A move's pre-copy: a snapshot is taken with this event while the node still runs, so the
   * move's stop persists only {@link Paused} (no snapshot) and the target recovers from this
   * snapshot and the few events after it. Changes nothing in the node's state.
   */
  record PreCopied(String moveId) implements NodeEvent {}
}
