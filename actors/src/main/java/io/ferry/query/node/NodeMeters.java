package io.ferry.query.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * A logic node's meters, tagged with its query and node, registered while the node runs on this
 * member and removed when it stops (it may move elsewhere). Names are listed in
 * docs/management-api.md.
 */
final class NodeMeters {
  static final String PULL = "ferry.node.pull";
  static final String BATCH = "ferry.node.batch";
  static final String ROWS_OUT = "ferry.node.output.rows";
  static final String ROWS_IN = "ferry.node.input.rows";

  private final MeterRegistry registry;
  private final Timer pull;
  private final Timer batch;
  private final Counter rowsOut;
  private final Counter rowsIn;

  private NodeMeters(MeterRegistry registry, String entityId) {
    this.registry = registry;
    int slash = entityId.indexOf('/');
    Tags tags = Tags.of("query", slash < 0 ? entityId : entityId.substring(0, slash), "node", entityId.substring(slash + 1));
    this.pull =
        Timer.builder(PULL)
            .description("From a pull sent upstream to the batch that answers it, long-poll wait included")
            .tags(tags)
            .register(registry);
    this.batch =
        Timer.builder(BATCH)
            .description("From an input batch (or a source read) taken to its event persisted")
            .tags(tags)
            .register(registry);
    this.rowsOut = Counter.builder(ROWS_OUT).description("Rows the node output while it ran on this member").tags(tags).register(registry);
    // with the output rows, the rates and selectivity the placement planner reasons on
    this.rowsIn = Counter.builder(ROWS_IN).description("Rows the node took in while it ran on this member (a source: rows it read)").tags(tags).register(registry);
  }

  static NodeMeters create(MeterRegistry registry, String entityId) {
    return new NodeMeters(registry, entityId);
  }

  void pulled(long nanos) {
    pull.record(nanos, TimeUnit.NANOSECONDS);
  }

  void batchPersisted(long nanos, long rowsInput, int rowsOutput) {
    batch.record(nanos, TimeUnit.NANOSECONDS);
    rowsIn.increment(rowsInput);
    rowsOut.increment(rowsOutput);
  }

  void close() {
    registry.remove(pull);
    registry.remove(batch);
    registry.remove(rowsOut);
    registry.remove(rowsIn);
  }
}
