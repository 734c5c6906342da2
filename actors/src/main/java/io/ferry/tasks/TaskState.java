package io.ferry.tasks;

/** Where a task is: waiting, held by a pool, or ended. */
public enum TaskState {
  QUEUED,
  LEASED,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public boolean terminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
