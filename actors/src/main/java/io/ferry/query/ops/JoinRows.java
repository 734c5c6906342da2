package io.ferry.query.ops;

import io.ferry.query.Row;
import java.util.List;

/**
 * Rows of one side (0 left, 1 right) of a window join held for one key in one window; the key is
 * text, turned back into the key type by the operator.
 */
public record JoinRows(long windowStart, String key, int side, List<Row> rows) {
  public JoinRows {
    rows = List.copyOf(rows);
  }
}
