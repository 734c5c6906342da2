package io.ferry.query.ops;

import io.ferry.query.Row;
import java.util.List;

/**
 * Reads a replayable source from an anchor: the same anchor always gives the same rows, so a
 * source node can restart anywhere from its persisted anchor. A source whose position is more than
 * one number (a Kafka topic's partition offsets) returns it as a delta with each read; the node
 * persists it with the batch and hands it back through {@link #apply}, like an operator's state.
 */
public interface SourceReader extends AutoCloseable {

  /**
   * Reads up to {@code max} rows starting at {@code anchor}. Returns the rows, the anchor after them
   * and whether the source has ended. A source with nothing new yet returns no rows, not ended.
   * Must not change the reader's persisted position: only {@link #apply} does.
   */
  Read read(long anchor, int max);

  /**
   * Applies the position a persisted read returned (live and during recovery); null means none.
   * Live, it runs as the batch's event is applied, which Pekko does <em>before</em> the journal
   * write: nothing outside the process (a broker acknowledgement) may happen here, only in {@link
   * #persisted}.
   */
  default void apply(OperatorDelta delta) {}

  /**
   * The batch whose position is {@code delta} (null when the read returned none) is in the journal:
   * what a source acknowledges to the outside (an MQTT PUBACK) is acknowledged here. Live only, not
   * during recovery.
   */
  default void persisted(OperatorDelta delta) {}

  /** The position for a snapshot, or null for a source whose anchor is its whole position. */
  default OperatorState snapshot() {
    return null;
  }

  /** Restores a position {@link #snapshot()} took; null is the start. */
  default void restore(OperatorState state) {}

  @Override
  default void close() {}

  /** One read: {@code delta} is the reader's position after it, or null when the anchor says it all. */
  record Read(List<Row> rows, long next, boolean end, OperatorDelta delta) {
    public Read(List<Row> rows, long next, boolean end) {
      this(rows, next, end, null);
    }
  }
}
