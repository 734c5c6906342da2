package io.ferry.api;

/** A cancelled job and how many of its tasks had not ended yet. */
public record JobCancelled(String id, int tasks) {}
