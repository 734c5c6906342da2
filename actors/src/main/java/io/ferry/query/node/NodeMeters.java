package io.ferry.query.node;

import io.ferry.query.Row;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.RandomAccess;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A logic node's meters, tagged with its query and node, registered while the node runs on this
 * member and removed when it stops (it may move elsewhere). Names are listed in
 * docs/management-api.md.
 */
final class NodeMeters {
  /** Bounds the per-consumer and per-upstream meters of one node. */
  static final int PEERS_MAX = 64;

  private final MeterRegistry registry;
  private final Timer pull;
  private final Timer batch;
  private final Counter rowsOut;
  private final Counter rowsIn;
  private final Timer journalWrite;
  private final Tags tags;
  private final String query;
  private final String node;
  private final Gauge state;
  /** Rows each consumer has not taken yet: this node's output anchor less the consumer's acknowledged anchor. */
  private final Map<String, AtomicLong> consumerBacklog = new HashMap<>();
  private final AtomicLong stateEntries = new AtomicLong();
  private final Map<String, Counter> sentBytes = new HashMap<>();
  private final Map<String, Counter> pulls = new HashMap<>();
  private final Map<String, Counter> pullTimeouts = new HashMap<>();
  private final List<Meter> peerMeters = new ArrayList<>();

  private NodeMeters(MeterRegistry registry, String entityId) {
    this.registry = registry;
    int slash = entityId.indexOf('/');
    Tags tags = Tags.of("query", slash < 0 ? entityId : entityId.substring(0, slash), "node", entityId.substring(slash + 1));
    this.pull =
        Timer.builder(NodeMetricNames.PULL)
            .description("From a pull sent upstream to the batch that answers it, long-poll wait included")
            .tags(tags)
            .register(registry);
    this.batch =
        Timer.builder(NodeMetricNames.BATCH)
            .description("From an input batch (or a source read) taken to its event persisted")
            .tags(tags)
            .register(registry);
    this.rowsOut = Counter.builder(NodeMetricNames.ROWS_OUT).description("Rows the node output while it ran on this member").tags(tags).register(registry);
    // with the output rows, the rates and selectivity the placement planner reasons on
    this.rowsIn = Counter.builder(NodeMetricNames.ROWS_IN).description("Rows the node took in while it ran on this member (a source: rows it read)").tags(tags).register(registry);
    this.tags = tags;
    this.query = slash < 0 ? entityId : entityId.substring(0, slash);
    this.node = entityId.substring(slash + 1);
    this.journalWrite = Timer.builder(NodeMetricNames.JOURNAL_WRITE).description("From a batch's event handed to the journal to its write confirmed, all nodes of this member")
        .register(registry);
    this.state = Gauge.builder(NodeMetricNames.STATE, stateEntries, AtomicLong::get)
        .description("Entries of state the node holds: output rows kept for consumers plus its operator's (a window's open accumulators)")
        .tags(tags).register(registry);
  }

  /** After a persist or a pull: what each consumer has not taken yet, and the state's size. */
  void observe(NodeState state) {
    stateEntries.set(state.stateEntries());
    long end = state.outputAnchor();
    for (String c : state.consumers()) {
      AtomicLong lag = consumerBacklog.get(c);
      if (lag == null) {
        if (consumerBacklog.size() >= PEERS_MAX) {
          continue;
        }
        lag = new AtomicLong();
        consumerBacklog.put(c, lag);
        // published under the consumer's name: its backlog is the rows behind its input anchor
        peerMeters.add(Gauge.builder(NodeMetricNames.BACKLOG, lag, AtomicLong::get)
            .description("Rows an upstream has output beyond the consumer's input anchor (node = the consumer, from = the upstream)")
            .tags(Tags.of("query", query, "node", c, "from", node))
            .register(registry));
      }
      lag.set(Math.max(0, end - state.acknowledged(c)));
    }
  }

  /** A batch sent to {@code consumer}: its rows' estimated bytes (the bandwidth a site pair carries). */
  void sent(String consumer, List<Row> rows) {
    sent(consumer, rows, 0);
  }

  /** As {@link #sent(String, List)}, plus {@code moreBytes} sent beside the rows (a key slice's left-out event times). */
  void sent(String consumer, List<Row> rows, long moreBytes) {
    if (rows.isEmpty() && moreBytes == 0) {
      return;
    }
    Counter c = peer(sentBytes, NodeMetricNames.SENT_BYTES, "consumer", consumer, "Estimated bytes of the rows the node sent to a consumer");
    if (c != null) {
      c.increment(bytes(rows) + moreBytes);
    }
  }

  /** A pull sent to {@code upstream}. */
  void pullSent(String upstream) {
    Counter c = peer(pulls, NodeMetricNames.PULLS, "upstream", upstream, "Pulls the node sent to an upstream");
    if (c != null) {
      c.increment();
    }
  }

  /** A pull to {@code upstream} got no answer within the pull timeout and will be sent again (a loss or a hand-off). */
  void pullTimedOut(String upstream) {
    Counter c = peer(pullTimeouts, NodeMetricNames.PULL_TIMEOUTS, "upstream", upstream, "Pulls to an upstream that got no answer in time and were sent again");
    if (c != null) {
      c.increment();
    }
  }

  private Counter peer(Map<String, Counter> counters, String name, String tag, String peer, String description) {
    Counter c = counters.get(peer);
    if (c == null && counters.size() < PEERS_MAX) {
      c = Counter.builder(name).description(description).tags(tags).tag(tag, peer).register(registry);
      counters.put(peer, c);
      peerMeters.add(c);
    }
    return c;
  }

  /**
   * Rows of a batch whose sizes are summed one by one; a larger batch is estimated from this many
   * rows spread evenly over it. Visiting every value of every row sent was 6-11 % of a member's CPU
   * in the pipeline bench (2,000-row batches, mostly cache misses on rows produced long before);
   * the meter feeds the planner's bandwidth estimate, which a sample serves as well.
   */
  static final int SIZE_SAMPLE_ROWS = 64;

  /**
   * The batch's size as sent, estimated: per row 4 bytes plus, per value, 8 for a number, a
   * string's length + 1, 1 for null. Exact up to {@link #SIZE_SAMPLE_ROWS} rows; beyond, the mean
   * of that many evenly spaced rows times the row count.
   */
  static long bytes(List<Row> rows) {
    int n = rows.size();
    if (n <= SIZE_SAMPLE_ROWS || !(rows instanceof RandomAccess)) {
      long total = 0;
      for (Row r : rows) {
        total += bytes(r);
      }
      return total;
    }
    long sampled = 0;
    for (int k = 0; k < SIZE_SAMPLE_ROWS; k++) {
      sampled += bytes(rows.get((int) ((long) k * n / SIZE_SAMPLE_ROWS)));
    }
    return Math.round((double) sampled * n / SIZE_SAMPLE_ROWS);
  }

  private static long bytes(Row r) {
    long total = 4;
    for (int i = 0; i < r.size(); i++) {
      Object v = r.get(i);
      total += v == null ? 1 : v instanceof CharSequence cs ? cs.length() + 1 : 8;
    }
    return total;
  }

  static NodeMeters create(MeterRegistry registry, String entityId) {
    return new NodeMeters(registry, entityId);
  }

  void pulled(long nanos) {
    pull.record(nanos, TimeUnit.NANOSECONDS);
  }

  void batchPersisted(long nanos, long rowsInput, int rowsOutput) {
    batch.record(nanos, TimeUnit.NANOSECONDS);
    journalWrite.record(nanos, TimeUnit.NANOSECONDS);
    rowsIn.increment(rowsInput);
    rowsOut.increment(rowsOutput);
  }

  void close() {
    registry.remove(pull);
    registry.remove(batch);
    registry.remove(rowsOut);
    registry.remove(rowsIn);
    registry.remove(state);
    peerMeters.forEach(registry::remove);
  }
}
