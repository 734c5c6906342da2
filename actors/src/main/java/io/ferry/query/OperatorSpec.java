package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;

/**
 * What one logic node does, as data: persisted with the node and sent to whichever member hosts
 * it. {@code io.ferry.query.ops.Operators} turns a spec into running operator logic.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
  @JsonSubTypes.Type(value = OperatorSpec.Generate.class, name = "generate"),
  @JsonSubTypes.Type(value = OperatorSpec.ReadJsonLines.class, name = "read-json-lines"),
  @JsonSubTypes.Type(value = OperatorSpec.Filter.class, name = "filter"),
  @JsonSubTypes.Type(value = OperatorSpec.Project.class, name = "project"),
  @JsonSubTypes.Type(value = OperatorSpec.Window.class, name = "window"),
  @JsonSubTypes.Type(value = OperatorSpec.Collect.class, name = "collect"),
  @JsonSubTypes.Type(value = OperatorSpec.WriteJsonLines.class, name = "write-json-lines"),
  @JsonSubTypes.Type(value = OperatorSpec.HopWindow.class, name = "hop-window"),
  @JsonSubTypes.Type(value = OperatorSpec.SessionWindow.class, name = "session-window"),
  @JsonSubTypes.Type(value = OperatorSpec.WindowJoin.class, name = "window-join"),
  @JsonSubTypes.Type(value = OperatorSpec.Union.class, name = "union"),
  @JsonSubTypes.Type(value = OperatorSpec.Calc.class, name = "calc"),
  @JsonSubTypes.Type(value = OperatorSpec.ReadKafka.class, name = "read-kafka"),
  @JsonSubTypes.Type(value = OperatorSpec.WriteKafka.class, name = "write-kafka"),
  @JsonSubTypes.Type(value = OperatorSpec.ReadMqtt.class, name = "read-mqtt"),
  @JsonSubTypes.Type(value = OperatorSpec.WriteMqtt.class, name = "write-mqtt"),
  @JsonSubTypes.Type(value = OperatorSpec.Ingest.class, name = "ingest"),
  @JsonSubTypes.Type(value = OperatorSpec.Keyed.class, name = "keyed")
})
public sealed interface OperatorSpec {

  /** Sources have no upstream; their input anchor is an offset into something replayable. */
  @JsonIgnore
  default boolean isSource() {
    return this instanceof Generate || this instanceof ReadJsonLines || this instanceof ReadKafka || this instanceof ReadMqtt || this instanceof Ingest;
  }

  /** Sinks end a query; they may take several upstreams with the same schema (a union). */
  @JsonIgnore
  default boolean isSink() {
    return this instanceof Collect || this instanceof WriteJsonLines || this instanceof WriteKafka || this instanceof WriteMqtt;
  }

  /**
   * A replayable seeded source: record {@code i} is a pure function of (seed, i). Emits {@code
   * key: STRING, value: LONG, ts: TIMESTAMP, owner: STRING (pii)}.
   *
   * @param keys number of distinct keys ({@code k0 .. k<keys-1>})
   * @param count records to emit, or -1 for an endless stream
   * @param startMs event time of record 0, epoch millis
   * @param stepMs event time advance per record, millis
   * @param disorderMs event times jitter up to this many millis behind their slot (out-of-order input)
   * @param ratePerSecond records per second at most, 0 for as fast as downstream pulls
   */
  record Generate(
      long seed, int keys, long count, long startMs, long stepMs, long disorderMs, long ratePerSecond)
      implements OperatorSpec {
    public static final Schema SCHEMA =
        Schema.of(
            Field.of("key", FieldType.STRING),
            Field.of("value", FieldType.LONG),
            Field.of("ts", FieldType.TIMESTAMP),
            Field.pii("owner", FieldType.STRING));

    public Generate {
      if (keys < 1) {
        throw new QueryException("generate: keys must be at least 1, got " + keys);
      }
      if (count < -1) {
        throw new QueryException("generate: count must be -1 (endless) or >= 0, got " + count);
      }
      if (stepMs < 0 || disorderMs < 0 || ratePerSecond < 0) {
        throw new QueryException("generate: stepMs, disorderMs and ratePerSecond must be >= 0");
      }
    }
  }

  /**
   * Reads a file of JSON objects, one per line; the input anchor is the byte offset of the next
   * line. Values are converted to the schema's types; a line that does not fit fails the node with
   * its offset in the message.
   */
  record ReadJsonLines(String path, Schema schema) implements OperatorSpec {}

  record Filter(Predicate predicate) implements OperatorSpec {}

  /**
   * Keeps, drops or masks fields. {@code keep} empty means all fields; {@code mask} replaces a
   * STRING field's value with a one-way hash and clears its PII tag.
   */
  record Project(List<String> keep, List<String> drop, List<String> mask) implements OperatorSpec {
    public Project {
      keep = List.copyOf(keep);
      drop = List.copyOf(drop);
      mask = List.copyOf(mask);
    }
  }

  enum AggregateFn {
    COUNT,
    SUM,
    MIN,
    MAX,
    AVG
  }

  /** One aggregate of a window: {@code fn(field) AS as}; field is ignored for COUNT. */
  record Aggregate(AggregateFn fn, String field, String as) {
    public Aggregate {
      // A graph spec may leave it out ("fn": null); caught here, not as a NullPointerException in compile().
      if (fn == null) {
        throw new QueryException("aggregate '" + as + "': 'fn' is needed, one of " + java.util.Arrays.toString(AggregateFn.values()));
      }
    }
  }

  /**
   * A keyed tumbling window on event time. The watermark is the highest event time seen minus
   * {@code allowedLatenessMs}; a window closes (and emits one row per key, in key order) when the
   * watermark passes its end. Rows for closed windows are counted as late and dropped. Emits {@code
   * key, window_start, window_end} and then the aggregates.
   */
  record Window(
      String keyField, String timeField, long sizeMs, long allowedLatenessMs, List<Aggregate> aggregates)
      implements OperatorSpec {
    public Window {
      if (sizeMs <= 0) {
        throw new QueryException("window: size must be positive, got " + sizeMs + " ms");
      }
      if (allowedLatenessMs < 0) {
        throw new QueryException("window: allowed lateness must be >= 0, got " + allowedLatenessMs + " ms");
      }
      aggregates = List.copyOf(aggregates);
      if (aggregates.isEmpty()) {
        throw new QueryException("window: at least one aggregate is needed");
      }
    }
  }

  /** An in-cluster sink: keeps its rows in its output log, readable through the API. */
  record Collect() implements OperatorSpec {}

  /**
   * Appends rows as JSON lines to a file on the member that hosts the sink. Once-only: the file is
   * truncated back to the last committed length when the node restarts.
   */
  record WriteJsonLines(String path) implements OperatorSpec {}

  /**
   * A keyed hopping (sliding) window: windows of {@code sizeMs} start every {@code slideMs}, so a
   * row counts in each window that holds its event time. Watermark, lateness, closing and output
   * are those of {@link Window}; a row is late when every window holding it has closed.
   */
  record HopWindow(
      String keyField, String timeField, long sizeMs, long slideMs, long allowedLatenessMs, List<Aggregate> aggregates)
      implements OperatorSpec {
    /** Bounds the windows one row updates, so a tiny slide cannot make one row cost millions of updates. */
    public static final long WINDOWS_PER_ROW_MAX = 1000;

    public HopWindow {
      if (sizeMs <= 0 || slideMs <= 0 || slideMs > sizeMs) {
        throw new QueryException(
            "hop window: size and slide must be positive and the slide at most the size, got size " + sizeMs + " ms, slide " + slideMs + " ms");
      }
      if (sizeMs / slideMs > WINDOWS_PER_ROW_MAX) {
        throw new QueryException(
            "hop window: size / slide must be at most " + WINDOWS_PER_ROW_MAX + " windows per row, got " + sizeMs + " / " + slideMs);
      }
      if (allowedLatenessMs < 0) {
        throw new QueryException("hop window: allowed lateness must be >= 0, got " + allowedLatenessMs + " ms");
      }
      aggregates = List.copyOf(aggregates);
      if (aggregates.isEmpty()) {
        throw new QueryException("hop window: at least one aggregate is needed");
      }
    }
  }

  /**
   * A keyed session window: a key's rows whose event times lie less than {@code gapMs} apart form
   * one session {@code [first, last + gap)}; a row that bridges two sessions merges them. A session
   * closes when the watermark passes its end; closed sessions emit in end, then key order. Emits
   * {@code key, window_start, window_end} and the aggregates, like {@link Window}.
   */
  record SessionWindow(String keyField, String timeField, long gapMs, long allowedLatenessMs, List<Aggregate> aggregates)
      implements OperatorSpec {
    public SessionWindow {
      if (gapMs <= 0) {
        throw new QueryException("session window: the gap must be positive, got " + gapMs + " ms");
      }
      if (allowedLatenessMs < 0) {
        throw new QueryException("session window: allowed lateness must be >= 0, got " + allowedLatenessMs + " ms");
      }
      aggregates = List.copyOf(aggregates);
      if (aggregates.isEmpty()) {
        throw new QueryException("session window: at least one aggregate is needed");
      }
    }
  }

  /**
   * An inner join of two streams (inputs 0 = left, 1 = right) on key and tumbling event-time window:
   * each pair of a left and a right row with equal keys in the same window, emitted when the window
   * closes. Each input has its own watermark (its highest event time minus the lateness) and a row is
   * late when its window has closed for its own input; a window closes when both watermarks (or the
   * end of an input) have passed it. So the result does not depend on how the inputs interleave.
   * Emits {@code window_start, window_end}, the left fields, then the right fields (a right field
   * whose name the left already uses is renamed {@code right_<name>}); inputs' own
   * {@code window_start}/{@code window_end} fields are left out.
   */
  record WindowJoin(String leftKey, String leftTime, String rightKey, String rightTime, long sizeMs, long allowedLatenessMs)
      implements OperatorSpec {
    public WindowJoin {
      if (sizeMs <= 0) {
        throw new QueryException("window join: size must be positive, got " + sizeMs + " ms");
      }
      if (allowedLatenessMs < 0) {
        throw new QueryException("window join: allowed lateness must be >= 0, got " + allowedLatenessMs + " ms");
      }
    }
  }

  /** Merges inputs of one schema into one stream (SQL's UNION ALL), in the order batches arrive. */
  record Union() implements OperatorSpec {}

  /**
   * Filters with an expression and computes new columns (SQL's WHERE and SELECT list); stateless.
   * A column is PII when an expression it is computed from reads a PII field, unless it masks it.
   *
   * @param where rows for which this is TRUE pass (null or FALSE drop the row); null keeps every row
   */
  record Calc(Expr where, List<Expr.Column> columns) implements OperatorSpec {
    public Calc {
      columns = List.copyOf(columns);
      if (columns.isEmpty()) {
        throw new QueryException("calc: at least one column is needed");
      }
    }
  }

  /**
   * Reads every partition of a Kafka topic (read_committed), each record's value a JSON object
   * converted to {@code schema} like a JSON line. The partition offsets are the node's input
   * position, persisted with each batch, so a moved or restarted source resumes exactly after its
   * last persisted batch; consumer-group commits are never used. Runs only with the connectors
   * module ({@code ferry-connectors}) on the classpath.
   *
   * @param count records to read before the source ends, or -1 for an endless stream
   * @param properties extra Kafka consumer properties (security, timeouts), applied last
   */
  record ReadKafka(String bootstrap, String topic, Schema schema, long count, java.util.Map<String, String> properties)
      implements OperatorSpec {
    public ReadKafka {
      if (bootstrap == null || bootstrap.isBlank() || topic == null || topic.isBlank()) {
        throw new QueryException("read-kafka: bootstrap servers and topic are required");
      }
      if (count < -1) {
        throw new QueryException("read-kafka: count must be -1 (endless) or >= 0, got " + count);
      }
      properties = properties == null ? java.util.Map.of() : java.util.Map.copyOf(properties);
    }
  }

  /**
   * Writes rows as JSON objects to a Kafka topic, once only: one Kafka transaction per input
   * batch, whose transactional id belongs to this sink node (a moved instance fences the old one),
   * carries the sink's input anchors with the rows, so a {@code read_committed} consumer sees each
   * row exactly once. {@code keyField} (may be null) names the field whose value is the record key.
   */
  record WriteKafka(String bootstrap, String topic, String keyField, java.util.Map<String, String> properties)
      implements OperatorSpec {
    public WriteKafka {
      if (bootstrap == null || bootstrap.isBlank() || topic == null || topic.isBlank()) {
        throw new QueryException("write-kafka: bootstrap servers and topic are required");
      }
      properties = properties == null ? java.util.Map.of() : java.util.Map.copyOf(properties);
    }
  }

  /**
   * Subscribes to an MQTT topic filter at QoS 1 or 2 with a persistent session whose client id
   * belongs to this node. A message is acknowledged to the broker only after the batch holding it
   * is persisted in the node's journal, so an acknowledged device message is never lost; QoS-1
   * redeliveries are dropped by message identity (the {@code idField} value, or a hash of topic and
   * payload). A payload that is not a row of {@code schema}, or is larger than {@code
   * payloadBytesMax}, is published with the reason to {@code deadLetterTopic} (or logged when that
   * is null) and acknowledged; it never stops the source.
   *
   * @param broker {@code tcp://host:port}
   * @param count messages to take before the source ends, or -1 for an endless stream
   */
  record ReadMqtt(
      String broker, String topic, int qos, Schema schema, long count, String idField, String deadLetterTopic, int payloadBytesMax)
      implements OperatorSpec {
    /** Larger payloads go to the dead letters: a sensor reading is a few hundred bytes. */
    public static final int PAYLOAD_BYTES_MAX_DEFAULT = 64 << 10;

    public ReadMqtt {
      if (broker == null || broker.isBlank() || topic == null || topic.isBlank()) {
        throw new QueryException("read-mqtt: broker and topic are required");
      }
      if (qos != 1 && qos != 2) {
        throw new QueryException("read-mqtt: qos must be 1 or 2 (QoS 0 can lose messages), got " + qos);
      }
      if (count < -1) {
        throw new QueryException("read-mqtt: count must be -1 (endless) or >= 0, got " + count);
      }
      if (payloadBytesMax <= 0) {
        payloadBytesMax = PAYLOAD_BYTES_MAX_DEFAULT;
      }
    }
  }

  /**
   * Publishes rows as JSON objects to an MQTT topic at QoS 1. At least once: each message carries
   * {@code ferry_key} ({@code <query>/<node>/<upstream>/<anchor>}), the same on every redelivery, so
   * a consumer drops repeats by it. {@code keyField} (may be null) is appended to the topic as a
   * last level, so a device can subscribe to its own results.
   */
  record WriteMqtt(String broker, String topic, String keyField) implements OperatorSpec {
    public WriteMqtt {
      if (broker == null || broker.isBlank() || topic == null || topic.isBlank()) {
        throw new QueryException("write-mqtt: broker and topic are required");
      }
    }
  }

  /**
   * Rows posted to {@code POST /ingest/{source}} on any member, as JSON lines checked against {@code
   * schema}: the node persists each accepted request as one batch before the request is answered,
   * so an acknowledged row is never lost. {@code source} names the endpoint (unique among deployed
   * queries).
   *
   * @param count rows to take before the source ends, or -1 for an endless stream
   */
  record Ingest(String source, Schema schema, long count) implements OperatorSpec {
    public Ingest {
      if (source == null || !source.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
        throw new QueryException("ingest: source must be 1-64 letters, digits, '.', '_' or '-' (not first), got '" + source + "'");
      }
      if (count < -1) {
        throw new QueryException("ingest: count must be -1 (endless) or >= 0, got " + count);
      }
    }
  }

  /**
   * One instance of a keyed node with parallelism (what {@code QueryGraph.compile()} makes of a node
   * declared with {@code parallelism}): runs window {@code of} over the whole input, so its
   * watermark is the node's, but keeps state and emits only for keys whose key group lies in
   * {@code [firstGroup, endGroup)}. An instance with an empty range is idle: it follows the stream
   * with no state, ready to take groups when the node is rescaled.
   */
  record Keyed(OperatorSpec of, int firstGroup, int endGroup) implements OperatorSpec {
    public Keyed {
      if (!(of instanceof Window) && !(of instanceof HopWindow)) {
        throw new QueryException("keyed: only a window or hop-window runs with parallelism, got "
            + (of == null ? "nothing" : of.getClass().getSimpleName()));
      }
      if (firstGroup < 0 || endGroup > KeyGroups.COUNT || firstGroup > endGroup) {
        throw new QueryException("keyed: key groups lie within [0, " + KeyGroups.COUNT + "), got [" + firstGroup + ", " + endGroup + ")");
      }
    }

    /** The key field of the window it runs. */
    @JsonIgnore
    public String keyField() {
      return of instanceof Window w ? w.keyField() : ((HopWindow) of).keyField();
    }

    @JsonIgnore
    public KeyGroups.Range range() {
      return new KeyGroups.Range(firstGroup, endGroup);
    }
  }
}
