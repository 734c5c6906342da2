package io.ferry.tasks;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Runs one kind of task on a worker: what an embedder implements to add a kind of its own
 * (registered on every member, before the first job, with {@code Ferry.registerTaskRunner}).
 * {@link #run} is called once per attempt; it must stop soon after {@link Context#stopped()}
 * completes (the lease was lost or the job cancelled): another pool may then run the task.
 */
public interface TaskRunner {
  /** The kind's name and the check of its parameters, run at submit. */
  TaskKind kind();

  /** Runs one attempt; the stage's outcome is reported to the queue under the attempt's lease. */
  CompletionStage<Outcome> run(Context context);

  /**
   * What an attempt knows: its task, its parameters, the pool and holder (member) it runs on, its
   * lease's epoch (which attempt this is, for idempotent side effects), and when to stop.
   */
  record Context(TaskId task, Map<String, String> parameters, PoolId pool, String holder, long lease, CompletionStage<String> stopped) {}
}
