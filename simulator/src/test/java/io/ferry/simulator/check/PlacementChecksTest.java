package io.ferry.simulator.check;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Each placement checker passes a clean history and catches the violation it exists for. */
class PlacementChecksTest {

  @Test
  void piiOffTheEdgeIsCaught() {
    PiiAtEdgeCheck ok = new PiiAtEdgeCheck();
    ok.observe(0, "q/mask", "edge-a", true, true);
    ok.observe(0, "q/window", "cloud", false, false);
    assertTrue(ok.verdict().ok(), ok.verdict().detail());
    PiiAtEdgeCheck bad = new PiiAtEdgeCheck();
    bad.observe(0, "q/mask", "edge-a", true, true);
    bad.observe(10, "q/mask", "cloud", false, true);
    assertFalse(bad.verdict().ok());
    assertTrue(bad.verdict().detail().contains("q/mask (receives PII) at non-edge site cloud at 10 ms"), bad.verdict().detail());
  }

  @Test
  void aSecondMoveWithinTheCoolDownIsCaughtUnlessForced() {
    CoolDownCheck ok = new CoolDownCheck(60_000);
    ok.moveStarted(0, "q/w", false);
    ok.moveStarted(60_000, "q/w", false);
    ok.moveStarted(70_000, "q/w", true);
    ok.moveStarted(1_000, "q/x", false);
    assertTrue(ok.verdict().ok(), ok.verdict().detail());
    assertTrue(ok.verdict().detail().contains("1 forced"), ok.verdict().detail());
    CoolDownCheck bad = new CoolDownCheck(60_000);
    bad.moveStarted(0, "q/w", false);
    bad.moveStarted(59_999, "q/w", false);
    assertFalse(bad.verdict().ok());
  }

  @Test
  void anOverloadThatOutlivesARePlanIsCaught() {
    CapacityCheck ok = new CapacityCheck();
    ok.atPlan(0, "edge-a", 2.5, 2);
    ok.atPlan(10_000, "edge-a", 1.9, 2);
    ok.atPlan(20_000, "edge-a", 2.1, 2);
    ok.atPlan(30_000, "edge-a", 2.0, 2);
    assertTrue(ok.verdict().ok(), ok.verdict().detail());
    CapacityCheck bad = new CapacityCheck();
    bad.atPlan(0, "edge-a", 2.5, 2);
    bad.atPlan(10_000, "edge-a", 2.2, 2);
    assertFalse(bad.verdict().ok());
    assertTrue(bad.verdict().detail().contains("edge-a over capacity at the plan of 0 ms and still at 10000 ms"), bad.verdict().detail());
  }

  @Test
  void aMoveWithoutAnExecutedDecisionIsCaught() {
    MoveReasonCheck ok = new MoveReasonCheck();
    ok.executed("q/w", "cloud", "edge-a over capacity");
    ok.moveStarted(0, "q/w", "cloud");
    assertTrue(ok.verdict().ok(), ok.verdict().detail());
    MoveReasonCheck bad = new MoveReasonCheck();
    bad.executed("q/w", "cloud", " ");
    bad.moveStarted(0, "q/w", "cloud");
    bad.executed("q/x", "edge-a", "why");
    bad.moveStarted(0, "q/x", "cloud");
    bad.moveStarted(0, "q/y", "cloud");
    assertFalse(bad.verdict().ok());
    assertTrue(bad.verdict().detail().startsWith("3 moves without a reason"), bad.verdict().detail());
  }
}
