package io.ferry.query.ops;

import java.util.List;

/** What one batch changed in a window operator: updated accumulators and closed windows. */
public record WindowDelta(long maxEventTime, long lateDropped, List<WindowAcc> updated, List<Long> closedWindowStarts)
    implements OperatorDelta {}
