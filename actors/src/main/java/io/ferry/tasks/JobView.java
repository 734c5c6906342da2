package io.ferry.tasks;

import java.util.List;
import java.util.Optional;

/**
 * A job's progress: counts of its tasks by state and, while it runs and some task has ended, an
 * ETA from the rate at which its tasks have ended so far.
 */
public record JobView(
    JobId id,
    JobState state,
    int done,
    int running,
    int queued,
    int failed,
    int cancelled,
    long submittedAtMillis,
    Optional<Long> etaMillis,
    List<TaskView> tasks) {

  /** A job's overall state: running until every task has ended. */
  public enum JobState {
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED
  }
}
