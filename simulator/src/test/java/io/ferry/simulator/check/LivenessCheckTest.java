package io.ferry.simulator.check;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.report.RunReport.Point;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LivenessCheckTest {
  private static final List<Point> GROWING = List.of(new Point(0, 0), new Point(1000, 50), new Point(5000, 80));
  private static final List<Point> STALLED = List.of(new Point(0, 0), new Point(1000, 50));

  @Test
  void aSinkThatFinishesWithinTheBoundPasses() {
    assertTrue(LivenessCheck.check(List.of("out"), true, Map.of("out", 4000L), GROWING, 2000, 3000).ok());
  }

  @Test
  void aSinkThatNeverFinishesIsCaught() {
    var v = LivenessCheck.check(List.of("out", "archive"), true, Map.of("out", 4000L), GROWING, 2000, 3000);
    assertFalse(v.ok(), v.detail());
    assertTrue(v.detail().contains("archive never finished"), v.detail());
  }

  @Test
  void aSinkThatFinishesTooLateIsCaught() {
    assertFalse(LivenessCheck.check(List.of("out"), true, Map.of("out", 9000L), GROWING, 2000, 3000).ok());
  }

  @Test
  void anUnboundedStreamMustResumeAfterTheHeal() {
    assertTrue(LivenessCheck.check(List.of("out"), false, Map.of(), GROWING, 2000, 3000).ok());
    assertFalse(LivenessCheck.check(List.of("out"), false, Map.of(), STALLED, 2000, 3000).ok());
  }
}
