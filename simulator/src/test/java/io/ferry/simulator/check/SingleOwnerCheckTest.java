package io.ferry.simulator.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.check.SingleOwnerCheck.Interval;
import java.util.List;
import org.junit.jupiter.api.Test;

class SingleOwnerCheckTest {

  @Test
  void backToBackInstancesAndOtherNodesPass() {
    var v = SingleOwnerCheck.check(List.of(
        new Interval("window-a", "window-a#1", 0, 100),
        new Interval("window-a", "window-a#2", 100, 250),
        new Interval("window-a", "window-a#3", 400, Long.MAX_VALUE),
        new Interval("window-b", "window-b#1", 50, Long.MAX_VALUE)));
    assertTrue(v.ok(), v.detail());
  }

  @Test
  void overlappingInstancesOfOneNodeAreCaught() {
    List<Interval> intervals = List.of(
        new Interval("window-a", "window-a#1", 0, 100),
        new Interval("window-a", "window-a#2", 300, Long.MAX_VALUE),
        new Interval("window-a", "window-a#3", 99, 200));
    var v = SingleOwnerCheck.check(intervals);
    assertFalse(v.ok(), v.detail());
    assertEquals(1, SingleOwnerCheck.overlaps(intervals).size());
    assertTrue(v.detail().contains("window-a#1") && v.detail().contains("window-a#3"), v.detail());
  }

  @Test
  void aStillRunningInstanceOverlapsALaterOne() {
    assertFalse(SingleOwnerCheck.check(List.of(
        new Interval("out", "out#1", 0, Long.MAX_VALUE),
        new Interval("out", "out#2", 5000, 6000))).ok());
  }
}
