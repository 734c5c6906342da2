package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The window join: pairs per key and window, per-input lateness, and results independent of interleaving. */
@ExtendWith(SeedExtension.class)
class WindowJoinOperatorTest {
  static final Schema LEFT = Schema.of(Field.of("id", FieldType.STRING), Field.of("ts", FieldType.TIMESTAMP), Field.of("x", FieldType.LONG));
  static final Schema RIGHT = Schema.of(Field.of("id", FieldType.STRING), Field.of("t", FieldType.TIMESTAMP), Field.of("y", FieldType.LONG));
  static final OperatorSpec.WindowJoin SPEC = new OperatorSpec.WindowJoin("id", "ts", "id", "t", 10, 0);

  static WindowJoinOperator join() {
    return new WindowJoinOperator(SPEC, List.of(LEFT, RIGHT));
  }

  static List<Row> step(Operator op, int side, List<Row> batch) {
    Operator.Step s = op.process(side, batch);
    op.apply(s.delta());
    return s.outputs();
  }

  @Test
  void outputSchemaRenamesClashesAndDropsInputWindowBounds() {
    Schema l = Schema.of(Field.of("window_start", FieldType.TIMESTAMP), Field.of("id", FieldType.STRING), Field.pii("x", FieldType.LONG));
    Schema s = QueryGraph.joinSchema(SPEC, LEFT, RIGHT, "j");
    assertEquals(List.of("window_start", "window_end", "id", "ts", "x", "right_id", "t", "y"), s.names());
    Schema s2 = QueryGraph.joinSchema(new OperatorSpec.WindowJoin("id", "window_start", "id", "t", 10, 0), l, RIGHT, "j");
    assertEquals(List.of("window_start", "window_end", "id", "x", "right_id", "t", "y"), s2.names());
    assertEquals(true, s2.field("x").orElseThrow().pii());
    Schema badKey = Schema.of(Field.of("id", FieldType.LONG), Field.of("t", FieldType.TIMESTAMP));
    assertThrows(QueryException.class, () -> QueryGraph.joinSchema(SPEC, LEFT, badKey, "j"));
  }

  @Test
  void joinsPairsOfEqualKeysInOneWindowWhenBothWatermarksPass() {
    WindowJoinOperator j = join();
    assertEquals(List.of(), step(j, 0, List.of(Row.of("a", 1L, 1L), Row.of("a", 2L, 2L), Row.of("b", 3L, 3L))));
    // The left watermark passed 10 but the right has not: nothing closes yet.
    assertEquals(List.of(), step(j, 0, List.of(Row.of("c", 15L, 4L))));
    assertEquals(
        List.of(Row.of(0L, 10L, "a", 1L, 1L, "a", 5L, 10L), Row.of(0L, 10L, "a", 2L, 2L, "a", 5L, 10L)),
        step(j, 1, List.of(Row.of("a", 5L, 10L), Row.of("z", 6L, 11L), Row.of("c", 12L, 12L))));
    // Late on the left (its watermark is 15): dropped though the right is still open there.
    assertEquals(List.of(), step(j, 0, List.of(Row.of("c", 9L, 5L))));
    assertEquals(1, j.lateDropped());
    Operator.Step end = j.endInput(0);
    j.apply(end.delta());
    // With the left ended only the right's watermark counts: 12 has not passed 20.
    assertEquals(List.of(), end.outputs());
    assertEquals(List.of(Row.of(10L, 20L, "c", 15L, 4L, "c", 12L, 12L)), j.finish().outputs());
  }

  @Test
  void equalTimestampsAndEmptyWindowsAndNulls() {
    WindowJoinOperator j = join();
    step(j, 0, List.of(Row.of("a", 5L, 1L), Row.of("a", 5L, 2L), Row.of(null, 5L, 3L)));
    step(j, 1, List.of(Row.of("a", 5L, 7L), Row.of("a", null, 8L)));
    assertEquals(2, j.nullDropped());
    assertEquals(2, j.finish().outputs().size());
    assertEquals(Operator.Step.EMPTY.outputs(), join().finish().outputs());
  }

  @Test
  void resultDoesNotDependOnInterleavingAndSurvivesReplay(Seed testSeed) {
    long seed = testSeed.value();
    Random rnd = new Random(seed);
    List<List<Row>> left = batches(rnd, 800);
    List<List<Row>> right = batches(rnd, 800);
    List<Row> expected = interleave(left, right, new Random(seed + 1), false);
    for (int i = 0; i < 5; i++) {
      assertEquals(expected, interleave(left, right, new Random(seed + 2 + i), i % 2 == 0), "seed " + seed);
    }
    // Model: per side, rows whose window has not closed for that side; pairs per (window, key).
    Map<Long, Map<String, List<Row>[]>> model = new TreeMap<>();
    for (int side = 0; side < 2; side++) {
      long max = Long.MIN_VALUE;
      for (List<Row> b : side == 0 ? left : right) {
        for (Row r : b) {
          if (r.get(0) == null || r.get(1) == null) {
            continue;
          }
          long ts = (Long) r.get(1);
          max = Math.max(max, ts);
          long start = Math.floorDiv(ts, 10) * 10;
          if (start + 10 > max - 5) {
            @SuppressWarnings("unchecked")
            List<Row>[] fresh = new List[] {new ArrayList<>(), new ArrayList<>()};
            model.computeIfAbsent(start, x -> new TreeMap<>()).computeIfAbsent((String) r.get(0), k -> fresh)[side].add(r);
          }
        }
      }
    }
    List<Row> want = new ArrayList<>();
    model.forEach((start, keys) -> keys.forEach((k, sides) -> {
      for (Row l : sides[0]) {
        for (Row r : sides[1]) {
          want.add(Row.of(start, start + 10, l.get(0), l.get(1), l.get(2), r.get(0), r.get(1), r.get(2)));
        }
      }
    }));
    assertEquals(want, expected, "seed " + seed);
  }

  /** Feeds both sides' batches in a random interleaving, optionally through CBOR-replayed deltas and a restore. */
  static List<Row> interleave(List<List<Row>> left, List<List<Row>> right, Random rnd, boolean replay) {
    WindowJoinOperator j = new WindowJoinOperator(new OperatorSpec.WindowJoin("id", "ts", "id", "t", 10, 5), List.of(LEFT, RIGHT));
    Operator op = j;
    List<Row> out = new ArrayList<>();
    int li = 0;
    int ri = 0;
    boolean[] ended = new boolean[2];
    int steps = 0;
    while (!ended[0] || !ended[1]) {
      int side = ended[0] ? 1 : ended[1] ? 0 : rnd.nextInt(2);
      List<List<Row>> src = side == 0 ? left : right;
      int idx = side == 0 ? li++ : ri++;
      Operator.Step st;
      if (idx < src.size()) {
        st = op.process(side, src.get(idx));
      } else {
        ended[side] = true;
        st = ended[0] && ended[1] ? op.finish() : op.endInput(side);
      }
      op.apply(replay ? NewWindowsTest.viaCbor(st.delta()) : st.delta());
      out.addAll(st.outputs());
      if (replay && ++steps % 7 == 0) {
        Operator restored = new WindowJoinOperator(new OperatorSpec.WindowJoin("id", "ts", "id", "t", 10, 5), List.of(LEFT, RIGHT));
        restored.restore(NewWindowsTest.viaCbor(op.snapshot()));
        op = restored;
      }
    }
    return out;
  }

  static List<List<Row>> batches(Random rnd, int rows) {
    List<List<Row>> out = new ArrayList<>();
    List<Row> b = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      String key = rnd.nextInt(40) == 0 ? null : "k" + rnd.nextInt(6);
      b.add(Row.of(key, i / 2L - rnd.nextInt(12), (long) rnd.nextInt(100)));
      if (rnd.nextInt(20) == 0) {
        out.add(b);
        b = new ArrayList<>();
      }
    }
    out.add(b);
    return out;
  }
}
