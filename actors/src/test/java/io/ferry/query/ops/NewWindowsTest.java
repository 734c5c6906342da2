package io.ferry.query.ops;

import static io.ferry.query.ops.WindowOperatorTest.AGGREGATES;
import static io.ferry.query.ops.WindowOperatorTest.SCHEMA;
import static io.ferry.query.ops.WindowOperatorTest.in;
import static io.ferry.query.ops.WindowOperatorTest.randomBatches;
import static io.ferry.query.ops.WindowOperatorTest.runAll;
import static io.ferry.query.ops.WindowOperatorTest.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.Row;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Hopping and session windows: hand-made cases, late rows, equal times, empty windows, batching and replay. */
@ExtendWith(SeedExtension.class)
class NewWindowsTest {
  static final ObjectMapper CBOR =
      CBORMapper.builder().enable(DeserializationFeature.USE_LONG_FOR_INTS).addModule(new ParameterNamesModule()).build();

  static WindowOperator hop(long size, long slide, long lateness) {
    return new WindowOperator(new OperatorSpec.HopWindow("key", "ts", size, slide, lateness, AGGREGATES), SCHEMA);
  }

  static SessionWindowOperator session(long gap, long lateness) {
    return new SessionWindowOperator(new OperatorSpec.SessionWindow("key", "ts", gap, lateness, AGGREGATES), SCHEMA);
  }

  /** key, start, end, count: enough to see which rows went where. */
  static List<String> brief(List<Row> rows) {
    List<String> out = new ArrayList<>();
    rows.forEach(r -> out.add(r.get(0) + "@" + r.get(1) + "-" + r.get(2) + ":" + r.get(3)));
    return out;
  }

  @Test
  void hopPutsARowIntoEveryWindowThatHoldsIt() {
    WindowOperator w = hop(10, 5, 0);
    assertEquals(List.of(), step(w, List.of(in("a", 1L, 1.0, 7L), in("a", 2L, 1.0, 7L))));
    // ts 7 is in [0,10) and [5,15); equal timestamps both count. ts 21 closes both ([5,15) ends 15 <= 21).
    assertEquals(List.of("a@0-10:2", "a@5-15:2"), brief(step(w, List.of(in("b", 1L, 1.0, 21L)))));
    // ts 12 falls in [5,15) and [10,20): [5,15) has closed, [10,20) had closed too (20 <= 21): late.
    assertEquals(List.of(), step(w, List.of(in("a", 1L, 1.0, 12L))));
    assertEquals(1, w.lateDropped());
    Operator.Step fin = w.finish();
    assertEquals(List.of("b@15-25:1", "b@20-30:1"), brief(fin.outputs()));
  }

  @Test
  void hopRowPartlyLateCountsInItsOpenWindowsOnly() {
    WindowOperator w = hop(10, 5, 0);
    step(w, List.of(in("a", 1L, 1.0, 12L)));
    // ts 10: windows [5,15) and [10,20), both still open at watermark 12.
    // ts 4 after watermark 12: windows [-5,5) and [0,10) closed: late. Empty windows emit nothing.
    assertEquals(List.of(), step(w, List.of(in("a", 1L, 1.0, 10L), in("a", 1L, 1.0, 4L))));
    assertEquals(1, w.lateDropped());
    assertEquals(List.of("a@5-15:2", "a@10-20:2"), brief(w.finish().outputs()));
  }

  @Test
  void hopSpecRefusesBadShapes() {
    assertThrows(QueryException.class, () -> new OperatorSpec.HopWindow("k", "t", 10, 20, 0, AGGREGATES));
    assertThrows(QueryException.class, () -> new OperatorSpec.HopWindow("k", "t", 10_000, 1, 0, AGGREGATES));
    assertThrows(QueryException.class, () -> new OperatorSpec.SessionWindow("k", "t", 0, 0, AGGREGATES));
  }

  @Test
  void sessionsMergeAcrossABridgingRowAndCloseInEndOrder() {
    SessionWindowOperator s = session(10, 0);
    // a: 0 and 25 are two sessions; 15 bridges nothing (0+10 <= 15) but joins 25 (15+10 > 25).
    assertEquals(List.of(), step(s, List.of(in("a", 1L, 1.0, 0L), in("a", 2L, 1.0, 5L))));
    assertEquals(List.of("a@0-15:2"), brief(step(s, List.of(in("b", 1L, 1.0, 16L)))));
    assertEquals(List.of(), step(s, List.of(in("b", 1L, 1.0, 16L), in("c", 1L, 1.0, 18L))));
    assertEquals(List.of("b@16-26:2", "c@18-28:1"), brief(step(s, List.of(in("a", 1L, 1.0, 40L)))));
    assertEquals(List.of("a@40-50:1"), brief(s.finish().outputs()));
  }

  @Test
  void aRowBetweenTwoOpenSessionsMergesThem() {
    SessionWindowOperator s = session(10, 100);
    step(s, List.of(in("a", 1L, 1.0, 0L), in("a", 2L, 1.0, 18L)));
    assertEquals(2, s.openSessions());
    step(s, List.of(in("a", 4L, 1.0, 9L)));
    assertEquals(1, s.openSessions());
    Row r = s.finish().outputs().get(0);
    assertEquals(List.of("a", 0L, 28L, 3L, 7L), List.of(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)));
  }

  @Test
  void lateSessionRowsAreDroppedAndCounted() {
    SessionWindowOperator s = session(10, 0);
    // Watermark 100: a row at 90 would make the session [90, 100), already closed: late; 91 joins [100, 110).
    step(s, List.of(in("a", 1L, 1.0, 100L), in("a", 1L, 1.0, 90L), in("a", 1L, 1.0, 91L), in(null, 1L, 1.0, 1L)));
    assertEquals(1, s.lateDropped());
    assertEquals(1, s.nullDropped());
    assertEquals(List.of("a@91-110:2"), brief(s.finish().outputs()));
  }

  @Test
  void emptyInputEmitsNothing() {
    assertEquals(Operator.Step.EMPTY, session(10, 0).finish());
    assertEquals(Operator.Step.EMPTY, hop(10, 5, 0).finish());
  }

  @Test
  void hopIsIndependentOfBatchingAndMatchesAModel(Seed testSeed) {
    long seed = testSeed.value();
    List<List<Row>> batches = randomBatches(new Random(seed), 3000);
    List<Row> all = new ArrayList<>();
    batches.forEach(all::addAll);
    checkBatchingAndReplay(seed, batches, () -> hop(100, 40, 30));
    // Model: a row goes into each window [s, s+100), s a multiple of 40, holding ts whose end is past the watermark.
    Map<Long, Map<String, long[]>> model = new TreeMap<>();
    long max = Long.MIN_VALUE;
    for (Row r : all) {
      if (r.get(0) == null || r.get(3) == null) {
        continue;
      }
      long ts = (Long) r.get(3);
      max = Math.max(max, ts);
      for (long start = Math.floorDiv(ts, 40) * 40; start > ts - 100; start -= 40) {
        if (start + 100 > max - 30) {
          model.computeIfAbsent(start, x -> new TreeMap<>()).computeIfAbsent((String) r.get(0), k -> new long[1])[0]++;
        }
      }
    }
    List<String> expected = new ArrayList<>();
    model.forEach((start, keys) -> keys.forEach((k, n) -> expected.add(k + "@" + start + "-" + (start + 100) + ":" + n[0])));
    assertEquals(expected, brief(runAll(hop(100, 40, 30), batches)), "seed " + seed);
  }

  @Test
  void sessionIsIndependentOfBatching(Seed testSeed) {
    long seed = testSeed.value();
    checkBatchingAndReplay(seed, randomBatches(new Random(seed), 3000), () -> session(12, 30));
  }

  /**
   * The same rows give the same output however they are batched; and an operator that only
   * replays CBOR-serialized deltas, or restores a CBOR snapshot midway, continues identically.
   */
  static void checkBatchingAndReplay(long seed, List<List<Row>> batches, Supplier<Operator> make) {
    List<Row> all = new ArrayList<>();
    batches.forEach(all::addAll);
    List<Row> expected = runAll(make.get(), batches);
    List<List<Row>> single = new ArrayList<>();
    all.forEach(r -> single.add(List.of(r)));
    assertEquals(expected, runAll(make.get(), single), "seed " + seed);
    assertEquals(expected, runAll(make.get(), List.of(all)), "seed " + seed);

    Operator live = make.get();
    Operator replay = make.get();
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < batches.size(); i++) {
      Operator.Step st = live.process(batches.get(i));
      live.apply(st.delta());
      replay.apply(viaCbor(st.delta()));
      out.addAll(st.outputs());
      if (i == batches.size() / 2) {
        Operator restored = make.get();
        restored.restore(viaCbor(live.snapshot()));
        assertEquals(live.snapshot(), restored.snapshot(), "seed " + seed);
        live = restored;
      }
    }
    assertEquals(live.snapshot(), replay.snapshot(), "seed " + seed);
    out.addAll(live.finish().outputs());
    assertEquals(expected, out, "seed " + seed);
  }

  static OperatorDelta viaCbor(OperatorDelta d) {
    try {
      return d == null ? null : CBOR.readValue(CBOR.writerFor(OperatorDelta.class).writeValueAsBytes(d), OperatorDelta.class);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static OperatorState viaCbor(OperatorState s) {
    try {
      return CBOR.readValue(CBOR.writerFor(OperatorState.class).writeValueAsBytes(s), OperatorState.class);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
