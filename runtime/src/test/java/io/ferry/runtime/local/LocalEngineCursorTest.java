package io.ferry.runtime.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Row;
import io.ferry.query.ops.OperatorDelta;
import io.ferry.query.ops.SourcePosition;
import io.ferry.query.ops.SourceReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LocalEngineCursorTest {

  /** A reader that, like the Kafka source, keeps its position in what {@link #apply} gives it. */
  private static final class PositionalReader implements SourceReader {
    private final int total;
    private int position;
    private final List<Integer> persisted = new ArrayList<>();

    PositionalReader(int total) {
      this.total = total;
    }

    @Override
    public Read read(long anchor, int max) {
      int n = Math.min(max, total - position);
      List<Row> rows = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        rows.add(Row.of((long) (position + i)));
      }
      int next = position + n;
      return new Read(rows, anchor + n, next == total, n == 0 ? null : at(next));
    }

    @Override
    public void apply(OperatorDelta delta) {
      if (delta != null) {
        position = position(delta);
      }
    }

    @Override
    public void persisted(OperatorDelta delta) {
      if (delta != null) {
        persisted.add(position(delta));
      }
    }
  }

  private static SourcePosition at(int position) {
    return new SourcePosition(Map.of("p", (long) position));
  }

  private static int position(OperatorDelta delta) {
    return ((SourcePosition) delta).positions().get("p").intValue();
  }

  @Test
  void aReaderThatKeepsItsPositionInTheDeltaReadsEachRowOnceAndIsToldEachBatchPersisted() throws Exception {
    PositionalReader reader = new PositionalReader(10);
    LocalEngine.Cursor cursor = new LocalEngine.Cursor(reader);
    List<Object> seen = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      Optional<List<Row>> batch = cursor.next(4);
      if (batch.isEmpty()) {
        break;
      }
      batch.get().forEach(r -> seen.add(r.get(0)));
    }
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), seen);
    assertEquals(List.of(4, 8, 10), reader.persisted);
    assertTrue(cursor.next(4).isEmpty(), "an ended source gives no more batches");
  }
}
