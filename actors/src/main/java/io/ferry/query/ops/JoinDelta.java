package io.ferry.query.ops;

import java.util.List;

/**
 * What one batch changed in a window join: new absolute counters and event-time maxima, rows to
 * append to open windows (in arrival order), and windows that closed and emitted.
 */
public record JoinDelta(
    long leftMax,
    long rightMax,
    boolean leftEnded,
    boolean rightEnded,
    long lateDropped,
    long nullDropped,
    List<JoinRows> appended,
    List<Long> closedWindowStarts)
    implements OperatorDelta {
  public JoinDelta {
    appended = List.copyOf(appended);
    closedWindowStarts = List.copyOf(closedWindowStarts);
  }
}
