package io.ferry.query.ops;

import java.util.List;

/** Open sessions of a session window, for its snapshot, in key then start order. */
public record SessionState(long maxEventTime, long lateDropped, long nullDropped, List<SessionAcc> open)
    implements OperatorState {
  public SessionState {
    open = List.copyOf(open);
  }
}
