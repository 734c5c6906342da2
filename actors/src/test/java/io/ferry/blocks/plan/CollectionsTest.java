package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The package's own primitive collections (those Agrona has no match for) against the JDK's, on random operations. */
@ExtendWith(SeedExtension.class)
class CollectionsTest {
  @Test
  void longRingMatchesArrayDeque(Seed testSeed) {
    long seed = testSeed.value();
    Random rnd = new Random(seed);
    LongRing r = new LongRing(40);
    ArrayDeque<Long> model = new ArrayDeque<>();
    for (int step = 0; step < 100_000; step++) {
      long v = rnd.nextLong();
      switch (rnd.nextInt(4)) {
        case 0 -> {
          if (model.size() == 40) {
            model.pollFirst();
          }
          model.addLast(v);
          r.pushBackDropFront(v);
        }
        case 1 -> {
          if (model.size() == 40) {
            model.pollLast();
          }
          model.addFirst(v);
          r.pushFrontDropBack(v);
        }
        case 2 -> {
          boolean room = model.size() < 40;
          if (room) {
            model.addLast(v);
          }
          assertEquals(room, r.offerBack(v));
        }
        default -> {
          if (!model.isEmpty()) {
            assertEquals((long) model.pollFirst(), r.pollFront(), "seed " + seed);
          }
        }
      }
      assertEquals(model.size(), r.size());
    }
  }

  @Test
  void longBitSetFindsClearBits() {
    LongBitSet s = new LongBitSet(200);
    assertEquals(0, s.nextClear(0));
    for (int i = 0; i < 130; i++) {
      assertTrue(s.set(i));
    }
    assertFalse(s.set(5));
    assertEquals(130, s.nextClear(0));
    s.set(131);
    assertEquals(132, s.nextClear(131));
    for (int i = 132; i < 200; i++) {
      s.set(i);
    }
    assertEquals(130, s.nextClear(0));
    s.set(130);
    assertEquals(200, s.nextClear(0));
    assertEquals(200, s.nextClear(500));
    BitSet ref = new BitSet();
    LongBitSet odd = new LongBitSet(64);
    for (int i = 0; i < 64; i += 2) {
      odd.set(i);
      ref.set(i);
    }
    for (int i = 0; i < 64; i++) {
      assertEquals(Math.min(ref.nextClearBit(i), 64), odd.nextClear(i));
    }
  }
}
