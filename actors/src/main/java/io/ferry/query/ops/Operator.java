package io.ferry.query.ops;

import io.ferry.query.NodeId;
import io.ferry.query.Row;
import java.util.List;

/**
 * The logic of one non-source logic node, as plain Java. The node calls {@link #process} for each
 * input batch, persists the returned step in one event, and then calls {@link #apply} with its
 * delta, both live and when replaying the journal. So {@code process} and {@code finish} must not
 * change the operator: only {@code apply} does.
 */
public interface Operator extends AutoCloseable {

  /** Computes the outputs and state change for one input batch. */
  Step process(List<Row> input);

  /**
   * One batch from input {@code index} (its position in the node's inputs). Only an operator whose
   * inputs mean different things (a window join's left and right) needs to tell them apart.
   */
  default Step process(int index, List<Row> input) {
    return process(input);
  }

  /** Input {@code index} ended while others go on; {@link #finish} follows when the last one ends. */
  default Step endInput(int index) {
    return Step.EMPTY;
  }

  /**
   * As {@link #process(int, List)}, told also which upstream the batch came from and the anchor it
   * starts at: a sink that commits outside Ferry compares them with what the outside system committed.
   */
  default Step process(int index, NodeId upstream, long from, List<Row> input) {
    return process(index, input);
  }

  /** All inputs have ended: emits what is still held (a window flushes its open windows). */
  default Step finish() {
    return Step.EMPTY;
  }

  /** Applies a delta that {@link #process} or {@link #finish} returned; null means no change. */
  default void apply(OperatorDelta delta) {}

  /** An immutable copy of the operator's state for a snapshot, or null for a stateless operator. */
  default OperatorState snapshot() {
    return null;
  }

  /** Entries of state it holds now (a window: its open window-key accumulators), for the state-size meter. */
  default long stateEntries() {
    return 0;
  }

  /** Restores state from a snapshot taken by {@link #snapshot()}; null leaves it empty. */
  default void restore(OperatorState state) {}

  /**
   * Called once after the node's recovery (snapshot and journal replay) completed, before any new
   * input: an operator with outside effects puts them back in line with its recovered state here.
   */
  default void recovered() {}

  /** The node stopped: releases files and other resources. The operator is not used afterwards. */
  @Override
  default void close() {}

  /** Outputs of one step and the change to apply to the operator's state. */
  record Step(List<Row> outputs, OperatorDelta delta) {
    public static final Step EMPTY = new Step(List.of(), null);
  }
}
