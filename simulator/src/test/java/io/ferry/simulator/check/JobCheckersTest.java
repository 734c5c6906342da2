package io.ferry.simulator.check;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.check.RetryCountCheck.Attempt;
import io.ferry.simulator.check.TaskEndCheck.End;
import io.ferry.simulator.check.TaskHolderCheck.Run;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The jobs scenario's four checkers, each shown passing and each fed a violation it must catch. */
class JobCheckersTest {

  @Test
  void lossCheckPassesWhenEveryAcknowledgedTaskIsKnown() {
    var v = TaskLossCheck.check(Set.of("j/a", "j/b"), Set.of("j/a", "j/b", "k/unacked"));
    assertTrue(v.ok(), v.detail());
  }

  @Test
  void lossCheckCatchesALostAcknowledgedTask() {
    var v = TaskLossCheck.check(Set.of("j/a", "j/b"), Set.of("j/a"));
    assertFalse(v.ok());
    assertTrue(v.detail().contains("j/b"), v.detail());
  }

  @Test
  void holderCheckAllowsBackToBackRunsOnTwoPools() {
    var v = TaskHolderCheck.check(List.of(
        new Run("j/a", "edge-a", "edge-a/w1#1", 1, 0, 100),
        new Run("j/a", "cloud", "cloud/w1#1", 2, 100, 300),
        new Run("j/b", "cloud", "cloud/w2#1", 1, 50, 300)));
    assertTrue(v.ok(), v.detail());
  }

  @Test
  void holderCheckCatchesATaskRunByTwoPoolsAtOnce() {
    var v = TaskHolderCheck.check(List.of(
        new Run("j/a", "edge-a", "edge-a/w1#1", 1, 0, 150),
        new Run("j/a", "cloud", "cloud/w1#1", 2, 100, 300)));
    assertFalse(v.ok());
    assertTrue(v.detail().contains("edge-a/w1#1") && v.detail().contains("cloud/w1#1"), v.detail());
  }

  @Test
  void retryCheckCountsDistinctLeasesPerPool() {
    List<Attempt> attempts = List.of(
        new Attempt("j/a", "edge-a", 1), new Attempt("j/a", "edge-a", 1), new Attempt("j/a", "edge-a", 2),
        new Attempt("j/a", "cloud", 3));
    assertTrue(RetryCountCheck.check(attempts, Map.of("j/a", 2)).ok());
  }

  @Test
  void retryCheckCatchesAPoolThatTriedTooOften() {
    List<Attempt> attempts = List.of(new Attempt("j/a", "edge-a", 1), new Attempt("j/a", "edge-a", 2), new Attempt("j/a", "edge-a", 3));
    var v = RetryCountCheck.check(attempts, Map.of("j/a", 2));
    assertFalse(v.ok());
    assertTrue(v.detail().contains("3 attempts, retry count 2"), v.detail());
    assertFalse(RetryCountCheck.check(List.of(new Attempt("x/y", "cloud", 1)), Map.of()).ok(), "a lease of a task never submitted");
  }

  @Test
  void endCheckAcceptsTheThreeEnds() {
    var v = TaskEndCheck.check(Map.of(
        "j/a", new End("SUCCEEDED", Optional.empty()),
        "j/b", new End("FAILED", Optional.of("exit 1")),
        "j/c", new End("CANCELLED", Optional.of("cancelled by user"))));
    assertTrue(v.ok(), v.detail());
  }

  @Test
  void endCheckCatchesAnUnfinishedTaskAndAFailureWithoutReason() {
    assertFalse(TaskEndCheck.check(Map.of("j/a", new End("LEASED", Optional.empty()))).ok());
    assertFalse(TaskEndCheck.check(Map.of("j/a", new End("QUEUED", Optional.empty()))).ok());
    var v = TaskEndCheck.check(Map.of("j/a", new End("FAILED", Optional.of(" "))));
    assertFalse(v.ok());
    assertTrue(v.detail().contains("without a reason"), v.detail());
  }
}
