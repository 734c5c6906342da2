package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Row;
import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeMetersTest {

  /** Key "k" + i % 10 (3 bytes), two longs (16), a null (1), plus 4 per row: 24 bytes. */
  private static List<Row> uniform(int n) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(Row.of("k" + i % 10, (long) i, (long) -i, null));
    }
    return rows;
  }

  @Test
  void smallBatchesAreSummedExactly() {
    List<Row> rows = List.of(Row.of("abc", 1L), Row.of(null, 2.5), Row.of("", true));
    // 4 + 4 + 8, 4 + 1 + 8, 4 + 1 + 8
    assertEquals(16 + 13 + 13, NodeMeters.bytes(rows));
    assertEquals(NodeMeters.SIZE_SAMPLE_ROWS * 24L, NodeMeters.bytes(uniform(NodeMeters.SIZE_SAMPLE_ROWS)));
  }

  @Test
  void aLargeBatchOfOneShapeIsEstimatedExactly() {
    assertEquals(2_000 * 24L, NodeMeters.bytes(uniform(2_000)));
    assertEquals(2_001 * 24L, NodeMeters.bytes(uniform(2_001)));
  }

  @Test
  void aLargeBatchOfMixedRowsIsEstimatedFromRowsSpreadOverIt() {
    // the first half short strings, the second half long ones: a sample from the front only
    // (or the back only) would be off by far more than the bound below
    List<Row> rows = new ArrayList<>();
    long exact = 0;
    for (int i = 0; i < 2_000; i++) {
      String s = i < 1_000 ? "a" : "x".repeat(101);
      rows.add(Row.of(s));
      exact += 4 + s.length() + 1;
    }
    long estimate = NodeMeters.bytes(rows);
    assertTrue(Math.abs(estimate - exact) <= exact / 20, "estimate " + estimate + " vs exact " + exact);
  }

  @Test
  void aListWithoutRandomAccessIsSummedExactly() {
    List<Row> rows = new LinkedList<>(uniform(500));
    rows.set(499, Row.of("y".repeat(1_000)));
    assertEquals(499 * 24L + 4 + 1_001, NodeMeters.bytes(rows));
  }
}
