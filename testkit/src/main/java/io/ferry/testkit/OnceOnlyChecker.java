package io.ferry.testkit;

import io.ferry.query.Row;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Checks once-only delivery at a sink: every row the reference run produced appears in the actual
 * output exactly once, nothing else appears, and within each stream (rows sharing a stream key,
 * e.g. one upstream's window results) the order is the reference's order.
 */
public final class OnceOnlyChecker {

  private static final int EXAMPLES_MAX = 5;

  private OnceOnlyChecker() {}

  /** Compares as multisets; order is not checked. */
  public static Verdict check(List<Row> reference, List<Row> actual) {
    return check(reference, actual, null);
  }

  /**
   * Compares {@code actual} with {@code reference}. When {@code streamOf} is given, rows of one
   * stream must also keep the reference's relative order.
   */
  public static Verdict check(List<Row> reference, List<Row> actual, Function<Row, Object> streamOf) {
    Map<Row, Integer> expected = counts(reference);
    Map<Row, Integer> seen = counts(actual);
    long lost = 0;
    long duplicated = 0;
    long unexpected = 0;
    List<String> examples = new ArrayList<>();
    for (Map.Entry<Row, Integer> e : expected.entrySet()) {
      int got = seen.getOrDefault(e.getKey(), 0);
      if (got < e.getValue()) {
        lost += e.getValue() - got;
        example(examples, "lost " + e.getKey());
      } else if (got > e.getValue()) {
        duplicated += got - e.getValue();
        example(examples, "duplicated " + e.getKey() + " x" + (got - e.getValue()));
      }
    }
    for (Map.Entry<Row, Integer> e : seen.entrySet()) {
      if (!expected.containsKey(e.getKey())) {
        unexpected += e.getValue();
        example(examples, "unexpected " + e.getKey());
      }
    }
    long misordered = 0;
    if (streamOf != null) {
      Map<Object, List<Row>> ref = byStream(reference, streamOf);
      Map<Object, List<Row>> act = byStream(actual, streamOf);
      for (Map.Entry<Object, List<Row>> e : ref.entrySet()) {
        List<Row> a = act.getOrDefault(e.getKey(), List.of());
        if (a.size() == e.getValue().size() && !a.equals(e.getValue())) {
          misordered++;
          example(examples, "stream " + e.getKey() + " out of order");
        }
      }
    }
    return new Verdict(reference.size(), actual.size(), lost, duplicated, unexpected, misordered, examples);
  }

  private static void example(List<String> examples, String what) {
    if (examples.size() < EXAMPLES_MAX) {
      examples.add(what);
    }
  }

  private static Map<Row, Integer> counts(List<Row> rows) {
    Map<Row, Integer> m = new HashMap<>();
    rows.forEach(r -> m.merge(r, 1, Integer::sum));
    return m;
  }

  private static Map<Object, List<Row>> byStream(List<Row> rows, Function<Row, Object> streamOf) {
    Map<Object, List<Row>> m = new LinkedHashMap<>();
    rows.forEach(r -> m.computeIfAbsent(streamOf.apply(r), k -> new ArrayList<>()).add(r));
    return m;
  }

  /**
   * The outcome. {@code lost}: reference rows missing; {@code duplicated}: extra copies of
   * reference rows; {@code unexpected}: rows the reference never produced; {@code misordered}:
   * streams whose rows are all there but in another order.
   */
  public record Verdict(
      long referenceRows, long actualRows, long lost, long duplicated, long unexpected, long misordered, List<String> examples) {
    public boolean ok() {
      return lost == 0 && duplicated == 0 && unexpected == 0 && misordered == 0;
    }

    @Override
    public String toString() {
      return String.format(
          "once-only %s: reference=%d actual=%d lost=%d duplicated=%d unexpected=%d misordered=%d%s",
          ok() ? "OK" : "VIOLATED", referenceRows, actualRows, lost, duplicated, unexpected, misordered,
          examples.isEmpty() ? "" : " e.g. " + examples);
    }
  }
}
