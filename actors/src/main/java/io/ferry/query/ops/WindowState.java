package io.ferry.query.ops;

import java.util.List;

/** Open windows of a window operator, for its snapshot. */
public record WindowState(long maxEventTime, long lateDropped, List<WindowAcc> open) implements OperatorState {}
