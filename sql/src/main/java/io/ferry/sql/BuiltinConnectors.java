package io.ferry.sql;

import io.ferry.query.Field;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.Schema;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Ferry's own connectors: the seeded generator, JSON-lines files, and the in-cluster collect sink. */
final class BuiltinConnectors {
  private BuiltinConnectors() {}

  static List<SqlConnector> all() {
    return List.of(new Generator(), new Files(), new Collect());
  }

  /** Options every table may carry that are not the connector's: placement and PII. */
  static final Set<String> COMMON = Set.of("connector", "site", "tier", "pii-columns");

  static void checkKnown(String connector, Map<String, String> options, Set<String> known) {
    Set<String> unknown = new TreeSet<>(options.keySet());
    unknown.removeAll(known);
    unknown.removeAll(COMMON);
    if (!unknown.isEmpty()) {
      throw new QueryException("connector '" + connector + "' has no option " + unknown + "; it knows " + new TreeSet<>(known));
    }
  }

  /** {@code 'connector' = 'generator'}: the seeded replayable source of key, value, ts, owner (PII). */
  static final class Generator implements SqlConnector {
    static final Set<String> OPTIONS = Set.of("seed", "keys", "count", "start-ms", "step-ms", "disorder-ms", "rate");

    @Override
    public String name() {
      return "generator";
    }

    @Override
    public OperatorSpec source(String table, Schema declared, Map<String, String> o) {
      checkKnown(name(), o, OPTIONS);
      Schema emits = OperatorSpec.Generate.SCHEMA;
      if (!declared.names().equals(emits.names())
          || !declared.fields().stream().map(Field::type).toList().equals(emits.fields().stream().map(Field::type).toList())) {
        throw new QueryException(
            "the generator emits `key` STRING, `value` BIGINT, `ts` TIMESTAMP(3), `owner` STRING (PII): declare exactly these columns, got "
                + declared);
      }
      long keys = SqlConnector.longOption(o, "keys", 16);
      if (keys < 1 || keys > Integer.MAX_VALUE) {
        throw new QueryException("option 'keys' must be between 1 and " + Integer.MAX_VALUE + ", got " + keys);
      }
      return new OperatorSpec.Generate(
          SqlConnector.longOption(o, "seed", 0), (int) keys, SqlConnector.longOption(o, "count", -1),
          SqlConnector.longOption(o, "start-ms", 0), SqlConnector.longOption(o, "step-ms", 1),
          SqlConnector.longOption(o, "disorder-ms", 0), SqlConnector.longOption(o, "rate", 0));
    }

    @Override
    public OperatorSpec sink(String table, Map<String, String> options) {
      throw new QueryException("connector 'generator' can only be read, not written");
    }
  }

  /** {@code 'connector' = 'files', 'path' = ..., 'format' = 'json'}: JSON lines, read or written. */
  static final class Files implements SqlConnector {
    static final Set<String> OPTIONS = Set.of("path", "format");

    @Override
    public String name() {
      return "files";
    }

    private static String path(Map<String, String> o) {
      checkKnown("files", o, OPTIONS);
      String format = o.getOrDefault("format", "json");
      if (!format.equals("json")) {
        throw new QueryException("connector 'files' reads and writes 'format' = 'json' (JSON lines), not '" + format + "'");
      }
      return SqlConnector.required(o, "path", "files");
    }

    @Override
    public OperatorSpec source(String table, Schema declared, Map<String, String> o) {
      if (declared.size() == 0) {
        throw new QueryException("a files source needs its columns declared");
      }
      return new OperatorSpec.ReadJsonLines(path(o), declared);
    }

    @Override
    public OperatorSpec sink(String table, Map<String, String> o) {
      return new OperatorSpec.WriteJsonLines(path(o));
    }
  }

  /** {@code 'connector' = 'collect'}: the in-cluster sink whose rows the API serves. */
  static final class Collect implements SqlConnector {
    @Override
    public String name() {
      return "collect";
    }

    @Override
    public OperatorSpec source(String table, Schema declared, Map<String, String> options) {
      throw new QueryException("connector 'collect' is a sink: it can be written, not read");
    }

    @Override
    public OperatorSpec sink(String table, Map<String, String> o) {
      checkKnown(name(), o, Set.of());
      return new OperatorSpec.Collect();
    }
  }

  /** The connectors on the class path by name: built-ins first, then any registered through ServiceLoader. */
  static Map<String, SqlConnector> available() {
    Map<String, SqlConnector> out = new TreeMap<>();
    for (SqlConnector c : all()) {
      out.put(c.name(), c);
    }
    for (SqlConnector c : java.util.ServiceLoader.load(SqlConnector.class, SqlConnector.class.getClassLoader())) {
      out.putIfAbsent(c.name(), c);
    }
    return out;
  }
}
