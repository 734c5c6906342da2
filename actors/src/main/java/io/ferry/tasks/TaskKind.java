package io.ferry.tasks;

import java.util.Map;

/**
 * A kind of task the queue accepts: its name and the check of its parameters that runs at submit,
 * so bad input is refused before anything is queued. The runtime pairs each kind with the code
 * that runs it on a worker.
 */
public interface TaskKind {
  String name();

  /** Throws {@link IllegalArgumentException} saying what is wrong with {@code parameters}. */
  void validate(Map<String, String> parameters);
}
