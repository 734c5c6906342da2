package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;

/**
 * A pool's time-bounded claim on a task. {@code epoch} grows with every lease of the task, so a
 * renewal or a result from an older lease (a worker that was presumed dead) is refused.
 */
public record Lease(TaskId task, PoolId pool, String holder, long epoch, long expiresAtMillis) implements CborSerializable {}
