package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.NodeId;
import io.ferry.query.Row;
import io.ferry.testkit.SampleQuery;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ReferenceRunTest {
  private static final long RECORDS = 5000;
  private static Map<NodeId, List<Row>> out;

  @BeforeAll
  static void run() {
    out = ReferenceRun.run(SampleQuery.graph("q", RECORDS, 0, null), 1_000_000);
  }

  private static List<Row> rows(String node) {
    List<Row> r = out.get(new NodeId(node));
    assertTrue(r != null, "no output for " + node + " in " + out.keySet());
    return r;
  }

  @Test
  // two chains of source, filter, anonymiser and window, and the sink
  void everyNodeHasAnOutput() {
    assertEquals(9, out.size(), out.keySet()::toString);
  }

  @Test
  void sourcesEmitTheirCount() {
    assertEquals(RECORDS, rows("src-a").size());
    assertEquals(RECORDS, rows("src-b").size());
    assertNotEquals(rows("src-a"), rows("src-b"), "the two sites have different seeds");
  }

  @Test
  void filterPassesExactlyTheRowsWithValueAtLeast100() {
    for (String site : List.of("a", "b")) {
      List<Row> expected = rows("src-" + site).stream().filter(r -> (Long) r.get(1) >= 100).toList();
      List<Row> passed = rows("filter-" + site);
      assertEquals(expected, passed, "filter-" + site);
      assertTrue(passed.size() < RECORDS && !passed.isEmpty(), "the generator's values straddle 100: " + passed.size());
    }
  }

  @Test
  void windowsCountNoMoreRowsThanTheyReceived() {
    for (String site : List.of("a", "b")) {
      List<Row> windows = rows("window-" + site);
      assertFalse(windows.isEmpty());
      long counted = windows.stream().mapToLong(r -> (Long) r.get(3)).sum();
      assertTrue(counted > 0 && counted <= rows("filter-" + site).size(), "window-" + site + " counted " + counted);
    }
  }

  @Test
  void sinkRowsAreWindowARowsThenWindowBRows() {
    List<Row> expected = new ArrayList<>(rows("window-a"));
    expected.addAll(rows("window-b"));
    assertEquals(expected, rows(SampleQuery.SINK));
  }

  @Test
  void endlessSourceIsRefusedNamingIt() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ReferenceRun.run(SampleQuery.graph("q", -1, 0, null), 10_000));
    assertTrue(e.getMessage().contains("src-a") && e.getMessage().contains("does not end"), e.getMessage());
  }
}
