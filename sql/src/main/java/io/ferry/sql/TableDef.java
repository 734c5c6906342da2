package io.ferry.sql;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.Schema;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A table declared with {@code CREATE TABLE}: its columns (with PII marks), its watermark, its
 * connector options, and where it was declared.
 */
record TableDef(
    String name, List<Column> columns, Optional<Watermark> watermark, Map<String, String> options, int line, int column) {

  record Column(String name, FieldType type, boolean pii, int line, int column) {}

  /** {@code WATERMARK FOR column AS column - INTERVAL ...}: rows may arrive up to {@code latenessMs} late. */
  record Watermark(String column, long latenessMs, int line, int columnPos) {}

  TableDef {
    columns = List.copyOf(columns);
    options = Map.copyOf(options);
  }

  Schema schema() {
    return new Schema(columns.stream().map(c -> new Field(c.name(), c.type(), c.pii())).toList());
  }

  Optional<String> option(String key) {
    return Optional.ofNullable(options.get(key));
  }

  SqlCompileException error(String problem) {
    return new SqlCompileException(line, column, "table " + name + ": " + problem);
  }
}
