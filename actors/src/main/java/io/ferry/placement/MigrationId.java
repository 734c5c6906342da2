package io.ferry.placement;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.UUID;
import java.util.regex.Pattern;

/** Names one migration (a move of nodes, or of a volume); reports and logs carry it. */
public record MigrationId(String value) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public MigrationId {
    if (value == null || !ID.matcher(value).matches()) {
      throw new IllegalArgumentException("a migration id must be 1-64 letters, digits, '_', '.' or '-', got '" + value + "'");
    }
  }

  /** A fresh id, {@code m-} and eight hex digits. */
  public static MigrationId random() {
    return new MigrationId("m-" + UUID.randomUUID().toString().substring(0, 8));
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public String toString() {
    return value;
  }
}
