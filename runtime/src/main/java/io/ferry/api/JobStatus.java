package io.ferry.api;

import java.util.List;
import java.util.Optional;

/**
 * A job's progress: its state (running, succeeded, failed, cancelled), its tasks by state, the
 * estimated time to the end while it runs, and every task's status.
 *
 * @param etaMillis milliseconds to the end at the rate tasks have ended so far, once one has
 */
public record JobStatus(
    String id,
    String state,
    int done,
    int running,
    int queued,
    int failed,
    int cancelled,
    long submittedAt,
    Optional<Long> etaMillis,
    List<TaskStatus> tasks) {}
