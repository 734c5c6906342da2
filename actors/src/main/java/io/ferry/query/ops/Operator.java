package io.ferry.query.ops;

import io.ferry.query.Row;
import java.util.List;

/**
 * The logic of one non-source logic node, as plain Java. The node calls {@link #process} for each
 * input batch, persists the returned step in one event, and then calls {@link #apply} with its
 * delta, both live and when replaying the journal. So {@code process} and {@code finish} must not
 * change the operator: only {@code apply} does.
 */
public interface Operator {

  /** Computes the outputs and state change for one input batch. */
  Step process(List<Row> input);

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

  /** Restores state from a snapshot taken by {@link #snapshot()}; null leaves it empty. */
  default void restore(OperatorState state) {}

  /** Outputs of one step and the change to apply to the operator's state. */
  record Step(List<Row> outputs, OperatorDelta delta) {
    public static final Step EMPTY = new Step(List.of(), null);
  }
}
