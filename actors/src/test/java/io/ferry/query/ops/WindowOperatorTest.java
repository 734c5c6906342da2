package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SeedExtension.class)
class WindowOperatorTest {
  static final Schema SCHEMA =
      Schema.of(
          Field.of("key", FieldType.STRING),
          Field.of("value", FieldType.LONG),
          Field.of("d", FieldType.DOUBLE),
          Field.of("ts", FieldType.TIMESTAMP));

  static final List<Aggregate> AGGREGATES =
      List.of(
          new Aggregate(AggregateFn.COUNT, null, "n"),
          new Aggregate(AggregateFn.SUM, "value", "s"),
          new Aggregate(AggregateFn.MIN, "value", "lo"),
          new Aggregate(AggregateFn.MAX, "value", "hi"),
          new Aggregate(AggregateFn.AVG, "value", "avg"),
          new Aggregate(AggregateFn.SUM, "d", "sd"),
          new Aggregate(AggregateFn.MIN, "ts", "first"));

  static WindowOperator window(long sizeMs, long latenessMs) {
    return new WindowOperator(new OperatorSpec.Window("key", "ts", sizeMs, latenessMs, AGGREGATES), SCHEMA);
  }

  /** Runs one batch the way a logic node does: process, then apply the delta. */
  static List<Row> step(Operator op, List<Row> batch) {
    Operator.Step s = op.process(batch);
    op.apply(s.delta());
    return s.outputs();
  }

  static Row in(String key, Long value, Double d, Long ts) {
    return Row.of(key, value, d, ts);
  }

  @Test
  void aggregatesAHandMadeExample() {
    WindowOperator w = window(10, 0);
    assertEquals(
        List.of(),
        step(w, List.of(in("b", 1L, 1.0, 1L), in("a", 2L, 0.5, 3L), in("a", 4L, 1.5, 9L), in("b", null, null, 5L))));
    assertEquals(
        List.of(
            Row.of("a", 0L, 10L, 2L, 6L, 2L, 4L, 3.0, 2.0, 3L),
            Row.of("b", 0L, 10L, 2L, 1L, 1L, 1L, 1.0, 1.0, 1L)),
        step(w, List.of(in("a", 10L, 2.0, 12L))));
    assertEquals(List.of(), step(w, List.of(in("a", 100L, 0.0, 5L), in(null, 1L, 1.0, 20L), in("a", 1L, 1.0, null))));
    assertEquals(1, w.lateDropped());
    assertEquals(2, w.nullDropped());
    Operator.Step fin = w.finish();
    assertEquals(List.of(Row.of("a", 10L, 20L, 1L, 10L, 10L, 10L, 10.0, 2.0, 12L)), fin.outputs());
    w.apply(fin.delta());
    assertEquals(0, w.openAccumulators());
    assertEquals(Operator.Step.EMPTY, w.finish());
  }

  @Test
  void aggregatesOfOnlyNullValuesAreNull() {
    WindowOperator w = window(10, 0);
    step(w, List.of(in("a", null, null, 1L)));
    assertEquals(List.of(Row.of("a", 0L, 10L, 1L, null, null, null, null, null, 1L)), w.finish().outputs());
  }

  @Test
  void watermarkClosesWindowsInStartOrderAndKeysInKeyOrder() {
    WindowOperator w = window(10, 5);
    List<Row> out =
        step(w, List.of(in("c", 1L, 0.0, 1L), in("a", 1L, 0.0, 2L), in("b", 1L, 0.0, 21L), in("a", 1L, 0.0, 12L), in("b", 1L, 0.0, 11L), in("z", 1L, 0.0, 35L)));
    List<String> got = new ArrayList<>();
    out.forEach(r -> got.add(r.get(1) + ":" + r.get(0)));
    assertEquals(List.of("0:a", "0:c", "10:a", "10:b", "20:b"), got, "watermark 30 closes windows ending at 10, 20, 30");
    assertEquals(List.of(Row.of("z", 30L, 40L, 1L, 1L, 1L, 1L, 1.0, 0.0, 35L)), w.finish().outputs());
  }

  @Test
  void longKeysSortNumerically() {
    Schema s = Schema.of(Field.of("k", FieldType.LONG), Field.of("t", FieldType.LONG));
    WindowOperator w =
        new WindowOperator(new OperatorSpec.Window("k", "t", 10, 0, List.of(new Aggregate(AggregateFn.COUNT, null, "n"))), s);
    step(w, List.of(Row.of(10L, 1L), Row.of(9L, 1L), Row.of(100L, 2L)));
    List<Object> keys = new ArrayList<>();
    w.finish().outputs().forEach(r -> keys.add(r.get(0)));
    assertEquals(List.of(9L, 10L, 100L), keys);
  }

  @Test
  void lateRowsAreDroppedAndCountedEvenWithinOneBatch() {
    WindowOperator w = window(10, 0);
    List<Row> out = step(w, List.of(in("a", 1L, 0.0, 25L), in("a", 1L, 0.0, 3L), in("a", 1L, 0.0, 20L)));
    assertEquals(List.of(), out, "the row at 3 is late: its window ended before the watermark of 25");
    assertEquals(1, w.lateDropped());
    assertEquals(List.of(Row.of("a", 20L, 30L, 2L, 2L, 1L, 1L, 1.0, 0.0, 20L)), w.finish().outputs());
  }

  @Test
  void processDoesNotChangeTheOperator() {
    WindowOperator w = window(10, 2);
    step(w, List.of(in("a", 1L, 1.0, 1L), in("b", 2L, 1.0, 4L)));
    WindowState before = w.snapshot();
    List<Row> batch = List.of(in("a", 5L, 1.0, 8L), in("c", 1L, 1.0, 15L), in("a", 1L, 1.0, 0L), in(null, 1L, 1.0, 1L));
    Operator.Step first = w.process(batch);
    Operator.Step second = w.process(batch);
    assertEquals(first, second);
    assertEquals(before, w.snapshot());
    assertEquals(2, w.openAccumulators());
    Operator.Step fin = w.finish();
    assertEquals(fin, w.finish());
    assertEquals(before, w.snapshot());
  }

  @Test
  void snapshotRestoreGivesIdenticalLaterSteps(Seed testSeed) {
    long seed = testSeed.value();
    Random rnd = new Random(seed);
    List<List<Row>> batches = randomBatches(rnd, 3000);
    WindowOperator a = window(100, 30);
    int half = batches.size() / 2;
    for (int i = 0; i < half; i++) {
      step(a, batches.get(i));
    }
    WindowState snap = a.snapshot();
    WindowOperator b = window(100, 30);
    b.restore(snap);
    assertEquals(snap, b.snapshot(), "seed " + seed);
    for (int i = half; i < batches.size(); i++) {
      Operator.Step sa = a.process(batches.get(i));
      Operator.Step sb = b.process(batches.get(i));
      assertEquals(sa, sb, "seed " + seed + " batch " + i);
      a.apply(sa.delta());
      b.apply(sb.delta());
    }
    assertEquals(a.finish(), b.finish(), "seed " + seed);
  }

  @Test
  void restoreTakesEveryAccumulatorWhateverItsOrder(Seed testSeed) {
    Random rnd = new Random(testSeed.value());
    WindowOperator a = window(100, 1_000);
    for (List<Row> batch : randomBatches(rnd, 400)) {
      step(a, batch);
    }
    WindowState ordered = a.snapshot();
    assertTrue(a.openAccumulators() > 10 && ordered.open().stream().map(WindowAcc::windowStart).distinct().count() > 1,
        "the seed's state has several windows: " + ordered.open().size());
    // restore groups runs of one window to size its map; a window in several runs (a state in
    // another order) must still restore whole
    List<WindowAcc> shuffled = new ArrayList<>(ordered.open());
    Collections.shuffle(shuffled, rnd);
    WindowOperator b = window(100, 1_000);
    b.restore(new WindowState(ordered.maxEventTime(), ordered.lateDropped(), ordered.nullDropped(), shuffled));
    assertEquals(ordered, b.snapshot(), "seed " + testSeed.value());
    assertEquals(a.openAccumulators(), b.openAccumulators());
    WindowOperator c = window(100, 1_000);
    c.restore(ordered);
    assertEquals(ordered, c.snapshot());
    assertEquals(a.openAccumulators(), c.openAccumulators());
  }

  @Test
  void openAccumulatorsAreBounded() {
    WindowOperator w =
        new WindowOperator(new OperatorSpec.Window("key", "ts", 10, 0, AGGREGATES), SCHEMA, 2);
    step(w, List.of(in("a", 1L, 1.0, 1L), in("b", 1L, 1.0, 1L)));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> w.process(List.of(in("c", 1L, 1.0, 2L))));
    assertTrue(e.getMessage().contains("more than 2 open"), e.getMessage());
    assertEquals(List.of(), w.process(List.of(in("a", 1L, 1.0, 2L))).outputs(), "existing keys still update");
  }

  /**
   * Same input, same result, however the input is cut into batches; and the counts match a
   * straightforward model of the window's semantics.
   */
  @Test
  void deterministicAndIndependentOfBatchingOnRandomInput(Seed testSeed) {
    long seed = testSeed.value();
    Random rnd = new Random(seed);
    List<List<Row>> batches = randomBatches(rnd, 5000);
    List<Row> all = new ArrayList<>();
    batches.forEach(all::addAll);

    List<Row> byBatches = runAll(window(100, 30), batches);
    assertEquals(byBatches, runAll(window(100, 30), batches), "seed " + seed);
    List<List<Row>> single = new ArrayList<>();
    all.forEach(r -> single.add(List.of(r)));
    assertEquals(byBatches, runAll(window(100, 30), single), "seed " + seed);
    assertEquals(byBatches, runAll(window(100, 30), List.of(all)), "seed " + seed);

    // Model: (start, key) -> {count, sum of values}, lateness judged row by row.
    Map<Long, Map<String, long[]>> model = new TreeMap<>();
    long max = Long.MIN_VALUE;
    for (Row r : all) {
      if (r.get(0) == null || r.get(3) == null) {
        continue;
      }
      long ts = (Long) r.get(3);
      max = Math.max(max, ts);
      long start = Math.floorDiv(ts, 100) * 100;
      if (start + 100 <= max - 30) {
        continue;
      }
      long[] acc = model.computeIfAbsent(start, s -> new TreeMap<>()).computeIfAbsent((String) r.get(0), k -> new long[2]);
      acc[0]++;
      acc[1] += r.get(1) == null ? 0 : (Long) r.get(1);
    }
    List<String> expected = new ArrayList<>();
    model.forEach((start, keys) -> keys.forEach((k, acc) -> expected.add(start + ":" + k + ":" + acc[0] + ":" + acc[1])));
    List<String> got = new ArrayList<>();
    byBatches.forEach(r -> got.add(r.get(1) + ":" + r.get(0) + ":" + r.get(3) + ":" + (r.get(4) == null ? 0 : r.get(4))));
    assertEquals(expected, got, "seed " + seed);
  }

  static List<Row> runAll(Operator op, List<List<Row>> batches) {
    List<Row> out = new ArrayList<>();
    for (List<Row> b : batches) {
      out.addAll(step(op, b));
    }
    Operator.Step fin = op.finish();
    op.apply(fin.delta());
    out.addAll(fin.outputs());
    return out;
  }

  /** Keys, values and out-of-order times with some nulls, cut into batches of random size. */
  static List<List<Row>> randomBatches(Random rnd, int rows) {
    List<List<Row>> batches = new ArrayList<>();
    List<Row> batch = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      String key = rnd.nextInt(50) == 0 ? null : "k" + rnd.nextInt(20);
      Long value = rnd.nextInt(20) == 0 ? null : (long) rnd.nextInt(1000);
      Double d = rnd.nextInt(20) == 0 ? null : rnd.nextDouble();
      Long ts = rnd.nextInt(100) == 0 ? null : i * 5L - rnd.nextInt(200);
      batch.add(in(key, value, d, ts));
      if (rnd.nextInt(50) == 0) {
        batches.add(batch);
        batch = new ArrayList<>();
      }
    }
    batches.add(batch);
    return batches;
  }
}
