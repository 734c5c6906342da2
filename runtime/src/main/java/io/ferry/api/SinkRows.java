package io.ferry.api;

import io.ferry.query.Row;
import java.util.List;

/**
 * Rows {@code [from, next)} of an in-cluster sink, read with {@link Ferry#read}; {@code done} once
 * the sink has delivered its last row, {@code gap} when rows before {@code next} were already
 * dropped (read acknowledged them earlier).
 */
public record SinkRows(long from, List<Row> rows, long next, boolean done, boolean gap) {
  public SinkRows {
    rows = List.copyOf(rows);
  }
}
