package io.ferry.api;

/** A job the queue acknowledged: {@code created} is false when the same job had been submitted before. */
public record JobAccepted(String id, boolean created, int tasks, int replicas) {}
