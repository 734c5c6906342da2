package io.ferry.tasks;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.regex.Pattern;

/** Names a pool: the task slots of one site's members (named after the site) or of a named subset. */
public record PoolId(String value) implements Comparable<PoolId> {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public PoolId {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "a pool id must be 1-63 lower-case letters, digits, '_', '.' or '-' starting with a letter or digit, got '" + value + "'");
    }
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public int compareTo(PoolId o) {
    return value.compareTo(o.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
