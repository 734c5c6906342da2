package io.ferry.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolSchedulerTest {
  static final PoolId P = new PoolId("edge-a");
  static final Duration D = Duration.ofMillis(900);

  static Lease lease(String task, long epoch, long expires) {
    return new Lease(TaskId.parse("j/" + task), P, "w", epoch, expires);
  }

  @Test
  void renewsAtAThirdAndStopsAtTheDeadlineCountedFromTheRequest() {
    PoolScheduler s = PoolScheduler.create(P, PoolSizer.create(1, 4, 4, 0.5));
    assertEquals(1, s.wanted());
    // Request sent at 100, answered at 150: the worker's deadline runs from 100.
    s.onLeased(lease("t", 1, 1050), D, 100);
    assertEquals(0, s.wanted());
    assertTrue(s.renewalsDue(399).isEmpty());
    assertEquals(1, s.renewalsDue(400).size());
    assertTrue(s.renewalsDue(401).isEmpty(), "one renewal in flight at a time");
    assertEquals(1000L, s.nextDueMillis().orElseThrow());
    s.onRenewed(lease("t", 1, 1400), 400);
    assertEquals(1300L, s.held(TaskId.parse("j/t")).orElseThrow().deadlineMillis());
    s.renewalsDue(700);
    assertTrue(s.expiredLocally(1299).isEmpty());
    assertEquals(List.of(lease("t", 1, 1400)), s.expiredLocally(1300));
    assertEquals(0, s.holding());
  }

  @Test
  void aRequestThatReportsOutcomesAsksForTheSlotsTheyFree() {
    PoolScheduler s = PoolScheduler.create(P, PoolSizer.create(2, 2, 4, 0.5));
    s.onLeased(lease("a", 1, 1000), D, 0);
    s.onLeased(lease("b", 1, 1000), D, 0);
    assertEquals(0, s.wanted(), "both slots held");
    assertEquals(1, s.wanted(1), "one outcome in the same request frees its slot");
    assertEquals(2, s.wanted(2));
    assertThrows(IllegalArgumentException.class, () -> s.wanted(3), "cannot report more than it holds");
  }

  @Test
  void aRenewalOfAnOlderLeaseIsIgnored() {
    PoolScheduler s = PoolScheduler.create(P, PoolSizer.create(1, 4, 4, 0.5));
    s.onLeased(lease("t", 2, 1000), D, 0);
    s.onRenewed(lease("t", 1, 5000), 600);
    assertEquals(900L, s.held(TaskId.parse("j/t")).orElseThrow().deadlineMillis());
    s.onLost(TaskId.parse("j/t"));
    assertFalse(s.held(TaskId.parse("j/t")).isPresent());
  }

  @Test
  void sizerGrowsWithTheQueueShrinksGraduallyAndHalvesWhenFailing() {
    PoolSizer z = PoolSizer.create(1, 8, 4, 0.5);
    assertEquals(1, z.slots());
    assertEquals(8, z.resize(20, 0).to());
    assertEquals(5, z.resize(0, 2).to(), "halfway down toward 2");
    assertEquals(3, z.resize(0, 2).to());
    z.onOutcome(false);
    z.onOutcome(false);
    PoolSizer.Resize r = z.resize(20, 3);
    assertTrue(r.failing(), r.toString());
    assertEquals(1, r.to());
    assertTrue(r.reason().contains("2 of the last 2"), r.reason());
    z.onOutcome(true);
    z.onOutcome(true);
    z.onOutcome(true);
    z.onOutcome(true);
    PoolSizer.Resize back = z.resize(20, 0);
    assertFalse(back.failing());
    assertEquals(8, back.to());
  }
}
