package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;

/** A named, typed field; {@code pii} marks personal data that must stay at the edge until dropped or masked. */
public record Field(String name, FieldType type, boolean pii) {
  @JsonCreator
  public Field {
    Names.check("field name", name);
    if (type == null) {
      throw new QueryException("field '" + name + "' has no type");
    }
  }

  public static Field of(String name, FieldType type) {
    return new Field(name, type, false);
  }

  public static Field pii(String name, FieldType type) {
    return new Field(name, type, true);
  }
}
