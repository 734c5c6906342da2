package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * One record: values in the order of its schema (String, Long, Double, Boolean or null). Immutable;
 * serialized as a plain CBOR array so batches stay small.
 */
@JsonSerialize(using = Row.Writer.class)
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

  /**
   * Writes a row as the array of its values, the same bytes as Jackson's list serializer wrote
   * (events and batches written before read the same), without its per-value serializer lookup:
   * serializing rows was the journal actor's largest cost in the pipeline bench.
   */
  static final class Writer extends StdSerializer<Row> {
    Writer() {
      super(Row.class);
    }

    @Override
    public void serialize(Row row, JsonGenerator gen, SerializerProvider provider) throws IOException {
      Object[] values = row.values;
      gen.writeStartArray(row, values.length);
      for (Object v : values) {
        if (!writeScalar(gen, v)) {
          provider.defaultSerializeValue(v, gen);
        }
      }
      gen.writeEndArray();
    }
  }

  /**
   * Writes {@code v} if it is null or one of the values rows hold (String, Long, Double, Boolean)
   * and returns true; false (nothing written) for anything else, which each caller handles its way.
   */
  public static boolean writeScalar(JsonGenerator gen, Object v) throws IOException {
    if (v == null) {
      gen.writeNull();
    } else if (v instanceof String s) {
      gen.writeString(s);
    } else if (v instanceof Long l) {
      gen.writeNumber(l);
    } else if (v instanceof Double d) {
      gen.writeNumber(d);
    } else if (v instanceof Boolean b) {
      gen.writeBoolean(b);
    } else {
      return false;
    }
    return true;
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
