package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;

/**
 * One record: values in the order of its schema (String, Long, Double, Boolean or null). Immutable;
 * serialized as a plain CBOR array so batches stay small.
 */
public final class Row {
  private final Object[] values;

  private Row(Object[] values) {
    this.values = values;
  }

  /** Takes ownership of {@code values}: the caller must not change the array afterwards. */
  public static Row wrap(Object[] values) {
    return new Row(values);
  }

  public static Row of(Object... values) {
    return new Row(values.clone());
  }

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  static Row fromList(List<Object> values) {
    return new Row(values.toArray());
  }

  @JsonValue
  List<Object> asList() {
    return Arrays.asList(values);
  }

  public Object get(int i) {
    return values[i];
  }

  public int size() {
    return values.length;
  }

  /** A copy of the values, for operators that build a new row from this one. */
  public Object[] copyValues() {
    return values.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Row r && Arrays.equals(values, r.values);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(values);
  }

  @Override
  public String toString() {
    return Arrays.toString(values);
  }
}
