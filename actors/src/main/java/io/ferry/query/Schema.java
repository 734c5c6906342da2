package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** The ordered fields of the rows a node emits; a Row holds values in this order. */
public final class Schema {
  private final List<Field> fields;
  private final Map<String, Integer> index;

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public Schema(List<Field> fields) {
    this.fields = List.copyOf(fields);
    this.index = new HashMap<>();
    for (int i = 0; i < this.fields.size(); i++) {
      if (index.put(this.fields.get(i).name(), i) != null) {
        throw new QueryException("field '" + this.fields.get(i).name() + "' appears twice in " + this);
      }
    }
  }

  public static Schema of(Field... fields) {
    return new Schema(List.of(fields));
  }

  @JsonValue
  public List<Field> fields() {
    return fields;
  }

  @JsonIgnore
  public int size() {
    return fields.size();
  }

  public Optional<Field> field(String name) {
    Integer i = index.get(name);
    return i == null ? Optional.empty() : Optional.of(fields.get(i));
  }

  /** The position of {@code name}, or -1. */
  public int indexOf(String name) {
    return index.getOrDefault(name, -1);
  }

  /** The field, or a clear error naming the node that asked and the fields it could have used. */
  public Field require(String name, String usedBy) {
    return field(name)
        .orElseThrow(
            () ->
                new QueryException(
                    usedBy + ": unknown field '" + name + "'; its input has " + names()));
  }

  public List<String> names() {
    return fields.stream().map(Field::name).collect(Collectors.toList());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Schema s && s.fields.equals(fields);
  }

  @Override
  public int hashCode() {
    return fields.hashCode();
  }

  @Override
  public String toString() {
    return fields.stream()
        .map(f -> f.name() + ":" + f.type() + (f.pii() ? "(pii)" : ""))
        .collect(Collectors.joining(", ", "(", ")"));
  }
}
