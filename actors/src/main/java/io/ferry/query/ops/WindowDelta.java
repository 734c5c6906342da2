package io.ferry.query.ops;

import java.util.List;

/**
 * What one batch changed in a window operator. Counters and the event-time maximum are new
 * absolute values and accumulators are whole replacements, so applying a delta needs no arithmetic
 * that could differ between the live run and a replay.
 *
 * @param updated accumulators of windows still open after the batch, replacing the old ones
 * @param closedWindowStarts windows that closed and emitted, to be forgotten
 */
public record WindowDelta(
    long maxEventTime, long lateDropped, long nullDropped, List<WindowAcc> updated, List<Long> closedWindowStarts)
    implements OperatorDelta {
  public WindowDelta {
    updated = List.copyOf(updated);
    closedWindowStarts = List.copyOf(closedWindowStarts);
  }
}
