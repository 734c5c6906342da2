package io.ferry.query.ops;

/**
 * The committed length of a JSON-lines sink file after a batch: both the state change persisted
 * with the batch's input anchor and the sink's whole state.
 */
public record FileSinkDelta(long lengthBytes) implements OperatorDelta, OperatorState {}
