package io.ferry.query;

/** The value types a field can have. TIMESTAMP is epoch milliseconds held as a Long. */
public enum FieldType {
  STRING,
  LONG,
  DOUBLE,
  BOOLEAN,
  TIMESTAMP;

  public boolean numeric() {
    return this == LONG || this == DOUBLE || this == TIMESTAMP;
  }

  /** True when {@code value} (as it appears in a Row) is a legal value of this type. */
  public boolean accepts(Object value) {
    return switch (this) {
      case STRING -> value instanceof String;
      case LONG, TIMESTAMP -> value instanceof Long;
      case DOUBLE -> value instanceof Double;
      case BOOLEAN -> value instanceof Boolean;
    };
  }
}
