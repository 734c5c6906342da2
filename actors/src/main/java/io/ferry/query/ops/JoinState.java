package io.ferry.query.ops;

import java.util.List;

/** The open windows of a window join, for its snapshot. */
public record JoinState(
    long leftMax, long rightMax, boolean leftEnded, boolean rightEnded, long lateDropped, long nullDropped, List<JoinRows> open)
    implements OperatorState {
  public JoinState {
    open = List.copyOf(open);
  }
}
