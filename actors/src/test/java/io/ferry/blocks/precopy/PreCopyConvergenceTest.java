package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.precopy.PreCopyConvergence.CutOver;
import io.ferry.blocks.precopy.PreCopyConvergence.Mode;
import io.ferry.blocks.precopy.PreCopyConvergence.RunPass;
import io.ferry.blocks.precopy.PreCopyConvergence.Settings;
import io.ferry.blocks.precopy.PreCopyConvergence.Step;
import org.junit.jupiter.api.Test;

class PreCopyConvergenceTest {

  private static PreCopyConvergence convergence() {
    return new PreCopyConvergence(new Settings(64, 5));
  }

  @Test
  void shrinkingPassesEndWithAFinalPassThatHoldsWritesThenCutOver() {
    PreCopyConvergence c = convergence();
    assertEquals(new RunPass(1, false, false), c.copied(800, 1));
    assertEquals(new RunPass(2, false, false), c.passDone(1, 800, 300, 1));
    assertEquals(new RunPass(3, false, true), c.passDone(2, 300, 40, 1)); // 40 <= 64: the pause
    assertTrue(c.passDone(3, 40, 0, 1) instanceof CutOver);
    assertTrue(c.cutOver());
    assertEquals(Mode.PRE_COPY, c.mode());
    assertEquals("", c.modeReason());
    assertEquals(4, c.passes().size());
    assertEquals(300, c.passes().get(2).changedBlocks());
    assertTrue(c.passes().get(3).holdWrites());
  }

  @Test
  void aFinalPassThatFindsMoreThanTheThresholdOnceWritesAreHeldRunsAsAnOrdinaryPass() {
    PreCopyConvergence c = convergence();
    c.copied(800, 1);
    assertEquals(new RunPass(2, false, true), c.passDone(1, 800, 40, 1)); // 40 <= 64 at the decision
    // 90 changed by the time the writes were held: this pass does not pause the workload
    assertThrows(IllegalStateException.class, () -> c.holdDeclined(64), "within the threshold the pass holds");
    assertEquals(new RunPass(2, false, false), c.holdDeclined(90));
    assertThrows(IllegalStateException.class, () -> c.holdDeclined(90), "declined once");
    assertEquals(new RunPass(3, false, true), c.passDone(2, 90, 20, 1));
    assertTrue(c.passDone(3, 20, 0, 1) instanceof CutOver);
    assertFalse(c.passes().get(2).holdWrites());
    assertEquals(90, c.passes().get(2).changedBlocks());
  }

  @Test
  void aWriteBlockingFinalPassNeverDeclinesItsHold() {
    PreCopyConvergence c = convergence();
    c.copied(500, 1);
    c.passDone(1, 500, 520, 1);
    assertEquals(new RunPass(3, true, true), c.passDone(2, 520, 0, 1));
    assertThrows(IllegalStateException.class, () -> c.holdDeclined(100));
  }

  @Test
  void aSmallChangeSetAfterTheFullCopyIsAlreadyTheFinalPass() {
    PreCopyConvergence c = convergence();
    assertEquals(new RunPass(1, false, true), c.copied(10, 1));
    assertTrue(c.passDone(1, 10, 3, 1) instanceof CutOver);
  }

  @Test
  void passesThatStopShrinkingSwitchToWriteBlockingWhichThenConverges() {
    PreCopyConvergence c = convergence();
    c.copied(500, 1);
    // Pass 1 shipped 500 and 520 were written meanwhile: writes outpace the link.
    assertEquals(new RunPass(2, true, false), c.passDone(1, 500, 520, 1));
    assertEquals(Mode.WRITE_BLOCKING, c.mode());
    assertTrue(c.modeReason().contains("pass 1 shipped 500 blocks and 520"), c.modeReason());
    // Under write-blocking new writes reach the target at once: the pass drains the set.
    assertEquals(new RunPass(3, true, true), c.passDone(2, 520, 0, 1));
    assertTrue(c.passDone(3, 0, 0, 1) instanceof CutOver);
  }

  @Test
  void equalChangeSetsCountAsNotShrinking() {
    PreCopyConvergence c = convergence();
    c.copied(200, 1);
    Step s = c.passDone(1, 200, 200, 1);
    assertEquals(new RunPass(2, true, false), s);
  }

  @Test
  void tooManySlowlyShrinkingPassesAlsoSwitchToWriteBlocking() {
    PreCopyConvergence c = new PreCopyConvergence(new Settings(10, 3));
    c.copied(1000, 1);
    assertEquals(new RunPass(2, false, false), c.passDone(1, 1000, 990, 1));
    assertEquals(new RunPass(3, false, false), c.passDone(2, 990, 980, 1));
    assertEquals(new RunPass(4, true, false), c.passDone(3, 980, 970, 1));
    assertTrue(c.modeReason().contains("3 passes"), c.modeReason());
  }

  @Test
  void aReportForAPassNotRunningIsAViolation() {
    PreCopyConvergence c = convergence();
    assertThrows(IllegalStateException.class, () -> c.passDone(1, 1, 1, 1)); // before the full copy
    c.copied(100, 1);
    assertThrows(IllegalStateException.class, () -> c.passDone(2, 1, 1, 1));
    assertThrows(IllegalStateException.class, () -> c.copied(100, 1));
    assertThrows(IllegalArgumentException.class, () -> c.passDone(1, -1, 0, 1));
    assertFalse(c.cutOver());
  }

  @Test
  void settingsAreBounded() {
    assertThrows(IllegalArgumentException.class, () -> new Settings(-1, 3));
    assertThrows(IllegalArgumentException.class, () -> new Settings(1, 0));
  }
}
