package io.ferry.query.ops;

import java.util.List;

/**
 * What one batch changed in a session window. Every key in {@code keys} gets {@code open}'s
 * sessions of that key as its whole new set (none left when it has none there), so applying a
 * delta replaces state and never adds up numbers.
 */
public record SessionDelta(long maxEventTime, long lateDropped, long nullDropped, List<String> keys, List<SessionAcc> open)
    implements OperatorDelta {
  public SessionDelta {
    keys = List.copyOf(keys);
    open = List.copyOf(open);
  }
}
