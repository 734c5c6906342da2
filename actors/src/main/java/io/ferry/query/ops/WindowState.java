package io.ferry.query.ops;

import java.util.List;

/** Open windows of a window operator, for its snapshot: accumulators in window then key order. */
public record WindowState(long maxEventTime, long lateDropped, long nullDropped, List<WindowAcc> open)
    implements OperatorState {
  public WindowState {
    open = List.copyOf(open);
  }
}
