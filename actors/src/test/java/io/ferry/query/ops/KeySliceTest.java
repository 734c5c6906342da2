package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.KeyGroups;
import io.ferry.query.KeySlice;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Instances of a keyed window that read only their key groups' rows (plus the event times left out)
 * together emit exactly what one window reading every row emits, late rows included.
 */
class KeySliceTest {
  /** 80 ms of disorder against 30 ms of lateness: many rows are late, so the watermark's exactness shows. */
  static final OperatorSpec.Window WINDOW = new OperatorSpec.Window("key", "ts", 100, 30,
      List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n"),
          new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.SUM, "value", "total")));
  static final OperatorSpec.Generate GEN = new OperatorSpec.Generate(7, 40, 6000, 0, 3, 80, 0);

  static KeySlice slice(int i, int p) {
    KeyGroups.Range r = KeyGroups.range(i, p);
    return KeySlice.of(new OperatorSpec.Keyed(WINDOW, r.first(), r.end()));
  }

  /** Runs {@code op} over {@code rows} in batches, each cut to {@code slice}; with or without the left-out times. */
  static List<Row> run(WindowOperator op, List<Row> rows, int batch, KeySlice slice, boolean leftOutTimes, long[] rowsSeen) {
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < rows.size(); i += batch) {
      KeySlice.Cut cut = slice.cut(rows.subList(i, Math.min(rows.size(), i + batch)), OperatorSpec.Generate.SCHEMA).orElseThrow();
      rowsSeen[0] += cut.rows().size();
      Operator.Step s = leftOutTimes ? op.process(cut.rows(), cut.maxTimeLeftOut()) : op.process(cut.rows());
      op.apply(s.delta());
      out.addAll(s.outputs());
    }
    Operator.Step f = op.finish();
    op.apply(f.delta());
    out.addAll(f.outputs());
    return out;
  }

  static List<String> sorted(List<Row> rows) {
    return rows.stream().map(Row::toString).sorted(Comparator.naturalOrder()).toList();
  }

  static WindowOperator instance(int i, int p) {
    KeyGroups.Range r = KeyGroups.range(i, p);
    return new WindowOperator(new OperatorSpec.Keyed(WINDOW, r.first(), r.end()), OperatorSpec.Generate.SCHEMA);
  }

  @Test
  void slicedInstancesTogetherEmitExactlyWhatOneWindowEmitsAndReadEachRowOnce() {
    List<Row> rows = new GeneratorReader(GEN).read(0, 6000).rows();
    WindowOperator whole = new WindowOperator(WINDOW, OperatorSpec.Generate.SCHEMA);
    List<Row> one = KeyedWindowTest.run(whole, rows, 6000);
    assertTrue(whole.lateDropped() > 100, "too few late rows to show the watermark is exact: " + whole.lateDropped());
    for (int p : new int[] {1, 2, 3, 4}) {
      List<Row> all = new ArrayList<>();
      long[] seen = {0};
      long late = 0;
      for (int i = 0; i < p; i++) {
        WindowOperator w = instance(i, p);
        all.addAll(run(w, rows, 23 + i * 97, slice(i, p), true, seen));
        late += w.lateDropped();
      }
      assertEquals(sorted(one), sorted(all), "parallelism " + p);
      assertEquals(whole.lateDropped(), late, "late rows at parallelism " + p);
      assertEquals(rows.size(), seen[0], "each row goes to exactly one instance at parallelism " + p);
    }
    long[] idleSeen = {0};
    assertEquals(List.of(), run(instance(3, 2), rows, 100, slice(3, 2), true, idleSeen));
    assertEquals(0, idleSeen[0], "an idle instance gets event times only");
  }

  @Test
  void withoutTheLeftOutEventTimesTheInstancesDiverge() {
    // The violation the left-out times prevent: each instance's watermark then follows its own keys only.
    List<Row> rows = new GeneratorReader(GEN).read(0, 6000).rows();
    List<Row> one = KeyedWindowTest.run(new WindowOperator(WINDOW, OperatorSpec.Generate.SCHEMA), rows, 6000);
    List<Row> all = new ArrayList<>();
    long[] seen = {0};
    for (int i = 0; i < 3; i++) {
      all.addAll(run(instance(i, 3), rows, 50, slice(i, 3), false, seen));
    }
    assertNotEquals(sorted(one), sorted(all));
  }

  @Test
  void aCutKeepsTheSlicesRowsAndTheLargestTimeLeftOutBetweenThem() {
    Schema schema = new Schema(List.of(Field.of("ts", FieldType.TIMESTAMP), Field.of("key", FieldType.STRING)));
    String mine = key(g -> g < 64);
    String other = key(g -> g >= 64);
    KeySlice slice = new KeySlice("key", "ts", 0, 64);
    List<Row> rows = List.of(Row.of(5L, other), Row.of(9L, other), Row.of(7L, other), Row.of(1L, mine),
        Row.of(null, other), Row.of(3L, mine), Row.of(2L, null), Row.of(4L, other));
    KeySlice.Cut cut = slice.cut(rows, schema).orElseThrow();
    // a null key is group 0, which this slice owns; a row of another key with no time moves no watermark
    assertEquals(List.of(Row.of(1L, mine), Row.of(3L, mine), Row.of(2L, null)), cut.rows());
    assertArrayEquals(new long[] {9L, KeySlice.NONE, KeySlice.NONE, 4L}, cut.maxTimeLeftOut());
    assertEquals(List.of(), new KeySlice("key", "ts", 64, 64).cut(rows.subList(0, 3), schema).orElseThrow().rows());
    assertTrue(new KeySlice("owner", "ts", 0, 64).cut(rows, schema).isEmpty(), "a schema without the key field is not cut");
    assertNull(KeySlice.of(new OperatorSpec.Collect()), "only an instance of a keyed node reads a slice");
    assertThrows(IllegalArgumentException.class, () -> instance(0, 1).process(cut.rows(), new long[] {1L}));
  }

  @Test
  void slicesCutTheBytesEachInstanceReceives() throws Exception {
    ObjectMapper cbor = CBORMapper.builder().build();
    List<Row> rows = new GeneratorReader(new OperatorSpec.Generate(11, 200, 1000, 1_700_000_000_000L, 2, 300, 0)).read(0, 1000).rows();
    long whole = cbor.writeValueAsBytes(rows).length;
    for (int p : new int[] {2, 4}) {
      long sliced = 0;
      for (int i = 0; i < p; i++) {
        KeySlice.Cut c = slice(i, p).cut(rows, OperatorSpec.Generate.SCHEMA).orElseThrow();
        sliced += cbor.writeValueAsBytes(c.rows()).length + cbor.writeValueAsBytes(c.maxTimeLeftOut()).length;
      }
      System.out.printf("KeySliceTest: 1000 rows to %d instances: %d bytes of rows before (each instance every row), %d bytes sliced (%.2fx)%n",
          p, p * whole, sliced, sliced / (double) (p * whole));
      assertTrue(sliced < p * whole * 0.8, "sliced " + sliced + " bytes vs " + p * whole + " at parallelism " + p);
    }
  }

  private static String key(java.util.function.IntPredicate group) {
    for (int i = 0; ; i++) {
      if (group.test(KeyGroups.group("k" + i))) {
        return "k" + i;
      }
    }
  }
}
