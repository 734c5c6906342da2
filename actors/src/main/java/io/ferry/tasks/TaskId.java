package io.ferry.tasks;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Comparator;
import java.util.regex.Pattern;

/** Names a task: its job and its name within the job; written {@code job/name}. */
public record TaskId(JobId job, String name) implements Comparable<TaskId> {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
  private static final Comparator<TaskId> ORDER = Comparator.comparing(TaskId::job).thenComparing(TaskId::name);

  public TaskId {
    if (job == null) {
      throw new IllegalArgumentException("a task id needs its job");
    }
    checkName(name);
  }

  /** Checks a task's name within its job. */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "a task name must be 1-63 letters, digits, '_', '.' or '-' starting with a letter or digit, got '" + name + "'");
    }
    return name;
  }

  /** Parses {@code job/name}. */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static TaskId parse(String s) {
    int slash = s == null ? -1 : s.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("a task id is written job/name, got '" + s + "'");
    }
    return new TaskId(new JobId(s.substring(0, slash)), s.substring(slash + 1));
  }

  @JsonValue
  @Override
  public String toString() {
    return job.value() + "/" + name;
  }

  @Override
  public int compareTo(TaskId o) {
    return ORDER.compare(this, o);
  }
}
