package io.ferry.query.ops;

/** One open session of one key, as persisted: its end and its accumulator (whose windowStart is the session's start). */
public record SessionAcc(long end, WindowAcc acc) {}
