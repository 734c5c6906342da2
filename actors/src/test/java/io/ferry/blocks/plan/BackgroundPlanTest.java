package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SeedExtension.class)
class BackgroundPlanTest {
  static long[] next(BackgroundPlan plan, int max) {
    long[] out = new long[max];
    int n = plan.next(out, max);
    return Arrays.copyOf(out, n);
  }

  @Test
  void oneBlockOfEachClassComesOutInPriorityOrder() {
    BackgroundPlan plan = new BackgroundPlan(100, 1);
    // Registered in the reverse of their priority, so arrival order cannot explain the result.
    plan.onDemandRead(40); // 40 is in flight on demand; neighbours 41, 39 are class 3
    plan.markHot(70); // class 2
    plan.predicted(new long[] {90}); // class 1
    long[] first = next(plan, 6);
    assertArrayEquals(new long[] {90, 70, 41, 39, 0, 1}, first);
  }

  @Test
  void eachClassKeepsItsOwnOrder() {
    BackgroundPlan plan = new BackgroundPlan(1000, 2);
    plan.predicted(new long[] {500, 300, 400});
    plan.markHot(900);
    plan.markHot(800);
    plan.onDemandRead(100);
    plan.onDemandRead(200); // the latest read's neighbours go first, nearest first, forward before backward
    assertArrayEquals(
        new long[] {500, 300, 400, 900, 800, 201, 199, 202, 198, 101, 99, 102, 98, 0, 1, 2}, next(plan, 16));
  }

  @Test
  void presentAndZeroBlocksAreNeverReturned() {
    BackgroundPlan plan = new BackgroundPlan(10, 1);
    plan.markPresent(0);
    plan.markZero(1);
    plan.markZero(5);
    plan.predicted(new long[] {5, 6});
    plan.markHot(0);
    plan.onDemandRead(4); // neighbours 5 (zero) and 3
    assertArrayEquals(new long[] {6, 3, 2, 7, 8, 9}, next(plan, 10));
    assertEquals(3, plan.presentCount());
    assertEquals(2, plan.zeroCount());
    assertEquals(7, plan.remaining());
  }

  @Test
  void handedOutBlocksAreNotOfferedAgainUntilRequeued() {
    BackgroundPlan plan = new BackgroundPlan(6, 0);
    assertArrayEquals(new long[] {0, 1, 2}, next(plan, 3));
    plan.markHot(1); // in flight: not offered again by another class
    plan.predicted(new long[] {2});
    assertArrayEquals(new long[] {3, 4, 5}, next(plan, 10));
    assertArrayEquals(new long[] {}, next(plan, 10));
    assertFalse(plan.complete());
    plan.requeue(4);
    plan.requeue(1);
    assertArrayEquals(new long[] {1, 4}, next(plan, 10));
  }

  @Test
  void requeueGoesToTheFrontOfItsClass() {
    BackgroundPlan plan = new BackgroundPlan(100, 0);
    plan.predicted(new long[] {10, 11, 12});
    plan.markHot(50);
    plan.markHot(51);
    assertArrayEquals(new long[] {10, 11}, next(plan, 2));
    assertArrayEquals(new long[] {12, 50}, next(plan, 2));
    plan.requeue(50);
    plan.requeue(11);
    assertArrayEquals(new long[] {11, 50, 51, 0}, next(plan, 4));
  }

  @Test
  void aLostOnDemandBlockGoesToTheFrontOfTheBackground() {
    BackgroundPlan plan = new BackgroundPlan(100, 0);
    plan.onDemandRead(60);
    assertTrue(plan.isInFlight(60));
    plan.predicted(new long[] {70});
    plan.requeue(60);
    assertArrayEquals(new long[] {60, 70, 0}, next(plan, 3));
  }

  @Test
  void requeueOfAPresentBlockIsIgnored() {
    BackgroundPlan plan = new BackgroundPlan(3, 0);
    assertArrayEquals(new long[] {0, 1, 2}, next(plan, 3));
    plan.markPresent(1);
    plan.requeue(1);
    assertArrayEquals(new long[] {}, next(plan, 3));
    assertTrue(plan.isPresent(1));
  }

  @Test
  void completesWhenEveryBlockIsPresentOrZero() {
    BackgroundPlan plan = new BackgroundPlan(4, 8);
    plan.markZero(0);
    plan.markPresent(1);
    plan.markPresent(1);
    plan.markZero(1); // already present: not counted as zero
    assertEquals(2, plan.presentCount());
    assertEquals(1, plan.zeroCount());
    for (long b : next(plan, 4)) {
      plan.markPresent(b);
    }
    assertTrue(plan.complete());
    assertEquals(0, plan.remaining());
    assertEquals(4, plan.blockCount());
    assertEquals(0, plan.inFlightCount());
    assertTrue(new BackgroundPlan(0, 8).complete());
  }

  @Test
  void rejectsBlocksOutsideTheVolume() {
    BackgroundPlan plan = new BackgroundPlan(10, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan.markPresent(10));
    assertEquals("block index must be between 0 and 9 for this volume, got 10", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> plan.predicted(new long[] {1, -1}));
    assertThrows(IllegalArgumentException.class, () -> plan.next(new long[2], 3));
    assertThrows(IllegalArgumentException.class, () -> new BackgroundPlan(10, -1));
  }

  @Test
  void hintsThatFallOffTheirQueueStillComeInAscendingOrder() {
    int n = BackgroundPlan.PREDICTED_MAX + 100;
    BackgroundPlan plan = new BackgroundPlan(n, 0);
    long[] all = new long[n];
    for (int i = 0; i < n; i++) {
      all[i] = n - 1 - i;
    }
    plan.predicted(all); // the first 100 predictions fall off the bounded queue
    BitSet seen = new BitSet(n);
    long[] out = new long[1000];
    for (int got; (got = plan.next(out, out.length)) > 0; ) {
      for (int i = 0; i < got; i++) {
        assertFalse(seen.get((int) out[i]), "handed out twice: " + out[i]);
        seen.set((int) out[i]);
        plan.markPresent(out[i]);
      }
    }
    assertEquals(n, seen.cardinality());
    assertTrue(plan.complete());
  }

  /**
   * Random marks, hints, reads, losses and arrivals: every block is handed out until the plan completes, never one that
   * is present or in flight, and a lost block comes back.
   */
  @Test
  void randomScheduleHandsOutEveryBlockAndNeverAPresentOne(Seed testSeed) {
    long seed = testSeed.value();
    Random rnd = new Random(seed);
    for (int round = 0; round < 50; round++) {
      int blocks = 1 + rnd.nextInt(rnd.nextBoolean() ? 64 : 3000);
      runRandom(rnd, blocks, rnd.nextInt(10), BackgroundPlan::next, "seed " + seed + " round " + round);
    }
  }

  /** The same run against a plan that hands out a present block now and then must fail: the checks can fail. */
  @Test
  void randomScheduleCatchesAPlanThatHandsOutPresentBlocks() {
    Next broken =
        (plan, out, max) -> {
          int got = plan.next(out, max);
          if (got > 0 && plan.presentCount() > 0) {
            for (long b = 0; b < plan.blockCount(); b++) {
              if (plan.isPresent(b)) {
                out[0] = b;
                break;
              }
            }
          }
          return got;
        };
    AssertionError e = assertThrows(AssertionError.class, () -> runRandom(new Random(1), 200, 2, broken, "broken"));
    assertTrue(e.getMessage().contains("handed out present block"), e.getMessage());
  }

  @FunctionalInterface
  interface Next {
    int next(BackgroundPlan plan, long[] out, int max);
  }

  private static void runRandom(Random rnd, int blocks, int radius, Next next, String where) {
    BackgroundPlan plan = new BackgroundPlan(blocks, radius);
    BitSet present = new BitSet(blocks);
    BitSet inFlight = new BitSet(blocks);
    long[] out = new long[64];
    int steps = 0;
    while (!plan.complete()) {
      if (++steps > 1_000_000) {
        throw new AssertionError(where + ": no progress after " + steps + " steps, " + plan.remaining() + " remaining");
      }
      int op = rnd.nextInt(100);
      long b = rnd.nextInt(blocks);
      if (op < 5) {
        plan.markZero(b);
        present.set((int) b);
        inFlight.clear((int) b);
      } else if (op < 10) {
        plan.markPresent(b); // written at the target
        present.set((int) b);
        inFlight.clear((int) b);
      } else if (op < 15) {
        plan.markHot(b);
      } else if (op < 20) {
        long[] hint = new long[rnd.nextInt(8)];
        for (int i = 0; i < hint.length; i++) {
          hint[i] = rnd.nextInt(blocks);
        }
        plan.predicted(hint);
      } else if (op < 25) {
        plan.onDemandRead(b);
        if (!present.get((int) b)) {
          inFlight.set((int) b);
        }
      } else if (op < 45 && inFlight.cardinality() > 0) {
        // Something in flight arrives or is lost.
        int f = nthSet(inFlight, rnd.nextInt(inFlight.cardinality()));
        inFlight.clear(f);
        if (rnd.nextInt(4) == 0) {
          plan.requeue(f);
        } else {
          plan.markPresent(f);
          present.set(f);
        }
      } else {
        int max = rnd.nextInt(out.length + 1);
        int got = next.next(plan, out, max);
        for (int i = 0; i < got; i++) {
          int h = (int) out[i];
          if (present.get(h)) {
            throw new AssertionError(where + ": handed out present block " + h);
          }
          if (inFlight.get(h)) {
            throw new AssertionError(where + ": handed out block " + h + " already in flight");
          }
          inFlight.set(h);
        }
        int missing = lackingBlock(present, inFlight);
        if (got < max && missing < blocks) {
          throw new AssertionError(where + ": returned " + got + " of " + max + " while block " + missing
              + " is neither present nor in flight (plan: present=" + plan.isPresent(missing) + " inFlight="
              + plan.isInFlight(missing) + ")");
        }
      }
      assertEquals(present.cardinality(), plan.presentCount(), where);
      assertEquals(inFlight.cardinality(), plan.inFlightCount(), where);
    }
    assertEquals(blocks, present.cardinality(), where);
    assertEquals(0, inFlight.cardinality(), where);
  }

  /** The first block neither present nor in flight; the block count when there is none. */
  private static int lackingBlock(BitSet present, BitSet inFlight) {
    BitSet either = (BitSet) present.clone();
    either.or(inFlight);
    return either.nextClearBit(0);
  }

  private static int nthSet(BitSet set, int n) {
    int i = set.nextSetBit(0);
    for (int k = 0; k < n; k++) {
      i = set.nextSetBit(i + 1);
    }
    return i;
  }
}
