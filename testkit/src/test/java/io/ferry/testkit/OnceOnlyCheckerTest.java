package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Row;
import io.ferry.testkit.OnceOnlyChecker.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class OnceOnlyCheckerTest {
  private static final Function<Row, Object> STREAM = r -> r.get(0);

  private static Row row(String stream, long n) {
    return Row.of(stream, n);
  }

  private static void assertCounts(Verdict v, long lost, long duplicated, long unexpected, long misordered) {
    assertEquals(
        List.of(lost, duplicated, unexpected, misordered),
        List.of(v.lost(), v.duplicated(), v.unexpected(), v.misordered()),
        v::toString);
  }

  @Test
  void identicalOutputIsOk() {
    List<Row> ref = List.of(row("a", 1), row("a", 2), row("b", 1));
    Verdict v = OnceOnlyChecker.check(ref, new ArrayList<>(ref), STREAM);
    assertTrue(v.ok(), v::toString);
    assertCounts(v, 0, 0, 0, 0);
    assertEquals(3, v.referenceRows());
    assertEquals(3, v.actualRows());
    assertTrue(v.examples().isEmpty());
    assertTrue(v.toString().contains("OK"), v::toString);
  }

  @Test
  void lostRowIsReported() {
    Verdict v = OnceOnlyChecker.check(List.of(row("a", 1), row("a", 2), row("a", 3)), List.of(row("a", 1), row("a", 3)));
    assertFalse(v.ok());
    assertCounts(v, 1, 0, 0, 0);
    assertEquals(List.of("lost [a, 2]"), v.examples());
  }

  @Test
  void duplicatedRowIsReported() {
    Verdict v = OnceOnlyChecker.check(List.of(row("a", 1), row("a", 2)), List.of(row("a", 1), row("a", 2), row("a", 2)));
    assertFalse(v.ok());
    assertCounts(v, 0, 1, 0, 0);
    assertTrue(v.examples().get(0).startsWith("duplicated [a, 2]"), v::toString);
  }

  @Test
  void rowNeverInTheReferenceIsUnexpected() {
    Verdict v = OnceOnlyChecker.check(List.of(row("a", 1)), List.of(row("a", 1), row("z", 9)));
    assertFalse(v.ok());
    assertCounts(v, 0, 0, 1, 0);
    assertEquals(List.of("unexpected [z, 9]"), v.examples());
  }

  @Test
  void lostAndDuplicatedInOneRunAreBothReported() {
    // Same row count as the reference: a check that compared sizes only would pass this.
    Verdict v = OnceOnlyChecker.check(List.of(row("a", 1), row("a", 2), row("a", 3)), List.of(row("a", 1), row("a", 1), row("a", 3)));
    assertFalse(v.ok());
    assertCounts(v, 1, 1, 0, 0);
    String s = v.toString();
    assertTrue(s.contains("lost=1") && s.contains("duplicated=1"), s);
  }

  @Test
  void swappedPairInsideOneStreamIsMisordered() {
    List<Row> ref = List.of(row("a", 1), row("b", 1), row("a", 2), row("b", 2));
    List<Row> act = List.of(row("a", 2), row("b", 1), row("a", 1), row("b", 2));
    Verdict v = OnceOnlyChecker.check(ref, act, STREAM);
    assertFalse(v.ok());
    assertCounts(v, 0, 0, 0, 1);
    assertEquals(List.of("stream a out of order"), v.examples());
    assertTrue(OnceOnlyChecker.check(ref, act).ok(), "without a stream key the order is not checked");
  }

  @Test
  void interleavingAcrossStreamsIsFine() {
    List<Row> ref = List.of(row("a", 1), row("a", 2), row("a", 3), row("b", 1), row("b", 2));
    List<Row> act = List.of(row("b", 1), row("a", 1), row("b", 2), row("a", 2), row("a", 3));
    Verdict v = OnceOnlyChecker.check(ref, act, STREAM);
    assertTrue(v.ok(), v::toString);
  }

  @Test
  void rowsThatLegitimatelyRepeatAreCountedAsAMultiset() {
    List<Row> ref = List.of(row("a", 7), row("a", 8), row("a", 7));
    assertTrue(OnceOnlyChecker.check(ref, List.of(row("a", 7), row("a", 8), row("a", 7)), STREAM).ok());
    Verdict once = OnceOnlyChecker.check(ref, List.of(row("a", 7), row("a", 8)), STREAM);
    assertCounts(once, 1, 0, 0, 0);
    Verdict thrice = OnceOnlyChecker.check(ref, List.of(row("a", 7), row("a", 8), row("a", 7), row("a", 7)), STREAM);
    assertCounts(thrice, 0, 1, 0, 0);
  }

  @Test
  void examplesAreBoundedAndCountsAreNot() {
    List<Row> ref = IntStream.range(0, 20).mapToObj(i -> row("a", i)).toList();
    List<Row> act = IntStream.range(100, 110).mapToObj(i -> row("a", i)).toList();
    Verdict v = OnceOnlyChecker.check(ref, act);
    assertCounts(v, 20, 0, 10, 0);
    assertEquals(5, v.examples().size(), v::toString);
    String s = v.toString();
    assertTrue(s.contains("VIOLATED") && s.contains("lost=20") && s.contains("duplicated=0") && s.contains("unexpected=10"), s);
  }
}
