package io.ferry.query.ops;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.query.Field;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One row as one JSON object, both ways, for the connectors (a Kafka record's or MQTT message's
 * payload, a line of an HTTP ingest): fields by name, converted to the schema's types; a missing
 * or null field is null. A payload that does not fit is refused with the reason, never guessed at.
 */
public final class JsonRows {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final JsonFactory FACTORY = new JsonFactory();

  private final Schema schema;
  private final String[] names;

  public JsonRows(Schema schema) {
    this.schema = schema;
    this.names = schema.fields().stream().map(Field::name).toArray(String[]::new);
  }

  /** The row in {@code bytes[from, from + length)}; throws {@link BadRow} with the reason. */
  public Row decode(byte[] bytes, int from, int length) {
    JsonNode node;
    try {
      node = JSON.readTree(bytes, from, length);
    } catch (JsonProcessingException e) {
      throw new BadRow("malformed JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (node == null || node.isMissingNode() || !node.isObject()) {
      throw new BadRow("expected a JSON object, got " + (node == null || node.isMissingNode() ? "nothing" : node.getNodeType()));
    }
    Object[] values = new Object[names.length];
    for (int i = 0; i < values.length; i++) {
      Field f = schema.fields().get(i);
      JsonNode v = node.get(f.name());
      if (v != null && !v.isNull()) {
        values[i] = convert(f, v);
      }
    }
    return Row.wrap(values);
  }

  public Row decode(byte[] bytes) {
    return decode(bytes, 0, bytes.length);
  }

  /** The row as one JSON object (no line end). */
  public byte[] encode(Row r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(32 * names.length);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      write(g, r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Writes the row as one JSON object to {@code g} (no line end): fields by name, in schema order. */
  public void write(JsonGenerator g, Row r) throws IOException {
    g.writeStartObject();
    for (int i = 0; i < names.length; i++) {
      g.writeFieldName(names[i]);
      Object v = r.get(i);
      if (!Row.writeScalar(g, v)) {
        throw new IllegalArgumentException("field '" + names[i] + "' holds a " + v.getClass().getSimpleName() + ", which rows never hold");
      }
    }
    g.writeEndObject();
  }

  /** The index of field {@code name}, or -1. */
  public int indexOf(String name) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equals(name)) {
        return i;
      }
    }
    return -1;
  }

  private static Object convert(Field f, JsonNode v) {
    switch (f.type()) {
      case LONG:
      case TIMESTAMP:
        if (v.isIntegralNumber() && v.canConvertToLong()) {
          return v.longValue();
        }
        break;
      case DOUBLE:
        if (v.isNumber()) {
          return v.doubleValue();
        }
        break;
      case STRING:
        if (v.isTextual()) {
          return v.textValue();
        }
        break;
      case BOOLEAN:
        if (v.isBoolean()) {
          return v.booleanValue();
        }
        break;
    }
    String shown = v.toString();
    if (shown.length() > 40) {
      shown = shown.substring(0, 40) + "...";
    }
    throw new BadRow("field '" + f.name() + "' is " + f.type() + " but the value is " + shown);
  }

  /** A payload that is not a row of the schema; the message says why. */
  public static final class BadRow extends IllegalArgumentException {
    public BadRow(String reason) {
      super(reason);
    }
  }
}
