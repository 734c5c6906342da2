package io.ferry.tasks;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.regex.Pattern;

/** Names a job: what a user submitted, split into tasks. Chosen by the submitter so a resubmit is idempotent. */
public record JobId(String value) implements Comparable<JobId> {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public JobId {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "a job id must be 1-63 letters, digits, '_', '.' or '-' starting with a letter or digit, got '" + value + "'");
    }
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public int compareTo(JobId o) {
    return value.compareTo(o.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
