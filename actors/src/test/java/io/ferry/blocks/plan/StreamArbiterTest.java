package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.plan.StreamArbiter.Pick;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SeedExtension.class)
class StreamArbiterTest {
  static final int PICKS = 10_000;
  static final int MESSAGE_BYTES_MAX = 4 * 1024 * 1024 + 64;

  @Test
  void backgroundKeepsItsShareWhenBothAlwaysWait(Seed testSeed) {
    long seed = testSeed.value();
    for (double share : new double[] {0.0, 0.05, 0.2, 0.5, 0.9, 1.0}) {
      Random rnd = new Random(seed);
      StreamArbiter a = new StreamArbiter(share);
      long[] bytes = new long[2];
      for (int i = 0; i < PICKS; i++) {
        Pick p = a.pick(true, true);
        // Sizes vary from a tiny REF to a full 4 MiB block, differently on each stream.
        int size = p == Pick.ON_DEMAND ? 64 + rnd.nextInt(MESSAGE_BYTES_MAX - 64) : 64 + rnd.nextInt(70_000);
        a.sent(p, size);
        bytes[p.ordinal()] += size;
      }
      long total = bytes[0] + bytes[1];
      double bgShare = (double) bytes[1] / total;
      // Within one message of the target.
      assertTrue(
          bgShare >= share - (double) MESSAGE_BYTES_MAX / total,
          "seed " + seed + " share " + share + ": background got " + bgShare);
      if (share < 1.0) {
        assertTrue(bgShare <= share + (double) MESSAGE_BYTES_MAX / total, "on-demand starved: " + bgShare);
      }
    }
  }

  @Test
  void aLoneStreamGetsEverything() {
    StreamArbiter a = new StreamArbiter(0.3);
    for (int i = 0; i < 1000; i++) {
      Pick p = a.pick(false, true);
      assertEquals(Pick.BACKGROUND, p);
      a.sent(p, 1 << 20);
    }
    for (int i = 0; i < 1000; i++) {
      Pick p = a.pick(true, false);
      assertEquals(Pick.ON_DEMAND, p);
      a.sent(p, 1 << 20);
    }
    assertEquals(Pick.NONE, a.pick(false, false));
  }

  @Test
  void onDemandIsPreferredAndUncontestedBytesEarnNoCredit() {
    StreamArbiter a = new StreamArbiter(0.5);
    // A long background-only stretch does not push on-demand back once it arrives ...
    for (int i = 0; i < 100; i++) {
      a.sent(a.pick(false, true), 4096);
    }
    assertEquals(Pick.ON_DEMAND, a.pick(true, true));
    a.sent(Pick.ON_DEMAND, 4096);
    // ... and then the two alternate by bytes.
    assertEquals(Pick.BACKGROUND, a.pick(true, true));
    a.sent(Pick.BACKGROUND, 4096);
    assertEquals(Pick.ON_DEMAND, a.pick(true, true));
    // An on-demand-only stretch earns background nothing either.
    for (int i = 0; i < 100; i++) {
      a.sent(a.pick(true, false), 4096);
    }
    assertEquals(Pick.ON_DEMAND, a.pick(true, true));
  }

  @Test
  void zeroShareNeverPicksBackgroundWhileOnDemandWaits() {
    StreamArbiter a = new StreamArbiter(0.0);
    for (int i = 0; i < 1000; i++) {
      Pick p = a.pick(true, true);
      assertEquals(Pick.ON_DEMAND, p);
      a.sent(p, 4096);
    }
  }

  @Test
  void rejectsBadShares() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StreamArbiter(1.5));
    assertEquals("ferry.blocks.background-share-min must be between 0 and 1, got 1.5", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new StreamArbiter(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> new StreamArbiter(-0.1));
  }
}
