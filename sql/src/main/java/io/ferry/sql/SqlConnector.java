package io.ferry.sql;

import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.Schema;
import java.util.Map;

/**
 * A connector named by {@code CREATE TABLE ... WITH ('connector' = name)}: turns the table's
 * declared schema and options into a source or sink operator. Ferry's own (generator, files,
 * collect) are built in; others (Kafka, MQTT) register through {@link java.util.ServiceLoader}.
 */
public interface SqlConnector {
  String name();

  /** The source reading this table; a QueryException says why it cannot (e.g. a write-only connector). */
  OperatorSpec source(String table, Schema declared, Map<String, String> options);

  /** The sink writing this table. */
  OperatorSpec sink(String table, Map<String, String> options);

  /** The option as a long, or {@code otherwise} when it is not given; a clear error when it is not a number. */
  static long longOption(Map<String, String> options, String key, long otherwise) {
    String v = options.get(key);
    if (v == null) {
      return otherwise;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new QueryException("option '" + key + "' must be a whole number, got '" + v + "'");
    }
  }

  static String required(Map<String, String> options, String key, String connector) {
    String v = options.get(key);
    if (v == null || v.isBlank()) {
      throw new QueryException("connector '" + connector + "' needs option '" + key + "'");
    }
    return v;
  }
}
