package io.ferry.query.ops;

import java.util.List;

/** The running aggregates of one key in one window. */
public record WindowAcc(long windowStart, Object key, long count, List<Object> values) {}
