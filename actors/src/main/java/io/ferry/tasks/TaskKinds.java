package io.ferry.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The kinds a queue accepts, by name: the built-in {@code command} and {@code volume-migration} plus an embedder's own. */
public final class TaskKinds {
  public static final int KINDS_MAX = 256;

  private final Map<String, TaskKind> kinds;

  private TaskKinds(Map<String, TaskKind> kinds) {
    this.kinds = kinds;
  }

  /** The built-in kinds and {@code extra}; a name may be registered once. */
  public static TaskKinds create(List<TaskKind> extra) {
    Map<String, TaskKind> m = new TreeMap<>();
    List<TaskKind> all = new ArrayList<>(List.of(CommandParameters.KIND, VolumeMigrationParameters.KIND));
    all.addAll(extra);
    if (all.size() > KINDS_MAX) {
      throw new IllegalArgumentException("at most " + KINDS_MAX + " task kinds, got " + all.size());
    }
    for (TaskKind k : all) {
      if (m.putIfAbsent(k.name(), k) != null) {
        throw new IllegalArgumentException("task kind '" + k.name() + "' is registered twice");
      }
    }
    return new TaskKinds(m);
  }

  public static TaskKinds builtIn() {
    return create(List.of());
  }

  /**
   * Kinds that accept anything: for the queue's replayed state, which must apply every job the
   * primary once accepted even on a member that lacks an embedder's kind.
   */
  public static TaskKinds unchecked() {
    return new TaskKinds(null);
  }

  public List<String> names() {
    return kinds == null ? List.of() : List.copyOf(kinds.keySet());
  }

  /** Checks a task's kind and parameters; the message names the task. */
  public void validate(TaskSpec task) {
    if (kinds == null) {
      return;
    }
    TaskKind k = kinds.get(task.kind());
    if (k == null) {
      throw new IllegalArgumentException("task " + task.name() + ": unknown kind '" + task.kind() + "' (known: " + String.join(", ", kinds.keySet()) + ")");
    }
    try {
      k.validate(task.parameters());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("task " + task.name() + " (" + task.kind() + "): " + e.getMessage(), e);
    }
  }
}
