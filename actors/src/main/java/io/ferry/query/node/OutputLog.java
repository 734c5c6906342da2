package io.ferry.query.node;

import io.ferry.query.Row;
import java.util.ArrayList;
import java.util.List;

/**
 * A node's output history from {@code base} (the lowest anchor a consumer may still ask for) to
 * {@code end} (the node's output anchor: every row it has ever output). Rows below {@code base}
 * are gone; they were persisted by every consumer.
 */
final class OutputLog {
  private long base;
  private ArrayList<Row> rows = new ArrayList<>();
  private int offset; // rows[0, offset) are trimmed but not yet compacted away

  OutputLog(long base, List<Row> retained) {
    this.base = base;
    this.rows.addAll(retained);
  }

  long base() {
    return base;
  }

  long end() {
    return base + rows.size() - offset;
  }

  long retained() {
    return end() - base;
  }

  void append(List<Row> out) {
    rows.addAll(out);
  }

  /** Rows in [from, from + max); {@code from} must lie within [base, end]. */
  List<Row> slice(long from, int max) {
    if (from < base || from > end()) {
      throw new IllegalArgumentException("anchor " + from + " outside the output log [" + base + ", " + end() + "]");
    }
    int start = offset + (int) (from - base);
    int stop = (int) Math.min(rows.size(), (long) start + max);
    return List.copyOf(rows.subList(start, stop));
  }

  /** Forgets rows below {@code anchor}: every consumer has persisted them. */
  void trimBelow(long anchor) {
    long upTo = Math.min(anchor, end());
    if (upTo <= base) {
      return;
    }
    offset += (int) (upTo - base);
    base = upTo;
    // Compact once the dead prefix dominates, so trimming stays O(1) amortised per row.
    if (offset > 1024 && offset * 2 > rows.size()) {
      rows = new ArrayList<>(rows.subList(offset, rows.size()));
      offset = 0;
    }
  }

  List<Row> retainedRows() {
    return List.copyOf(rows.subList(offset, rows.size()));
  }
}
