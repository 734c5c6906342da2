package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A work item as submitted: a job id the submitter chose and its tasks (names unique within the job). */
public record JobSpec(JobId id, List<TaskSpec> tasks) implements CborSerializable {
  public static final int TASKS_MAX = 10_000;

  public JobSpec {
    if (id == null) {
      throw new IllegalArgumentException("a job needs an id");
    }
    if (tasks == null || tasks.isEmpty()) {
      throw new IllegalArgumentException("job " + id + " has no task");
    }
    if (tasks.size() > TASKS_MAX) {
      throw new IllegalArgumentException("job " + id + ": at most " + TASKS_MAX + " tasks, got " + tasks.size());
    }
    tasks = List.copyOf(tasks);
    Set<String> names = new HashSet<>();
    for (TaskSpec t : tasks) {
      if (!names.add(t.name())) {
        throw new IllegalArgumentException("job " + id + ": two tasks are named '" + t.name() + "'");
      }
    }
  }
}
