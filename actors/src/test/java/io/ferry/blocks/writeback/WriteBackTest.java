package io.ferry.blocks.writeback;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.WritePolicy;
import io.ferry.blocks.writeback.WriteBackAggregator.Batch;
import io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion;
import io.ferry.blocks.writeback.WriteBackAggregator.Limits;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Write-back without actors: batches bounded by RPO and size, coalescing, in-order application at
 * the source, and a seeded run with resends, reordered confirmations and target restarts in which
 * the source ends holding the newest version of every block written.
 */
@ExtendWith(SeedExtension.class)
class WriteBackTest {

  private static final int BS = 64 * 1024;
  private static final long SECOND = 1_000_000_000L;

  @Test
  void policyWordsParseAndUnknownOnesAreRefusedWithTheChoices() {
    assertEquals(WritePolicy.WRITE_BACK, WritePolicy.parse("Write-Back"));
    assertEquals(WritePolicy.TARGET_ONLY, WritePolicy.parse("target-only"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WritePolicy.parse("sync"));
    assertTrue(e.getMessage().contains("[target-only, write-back]"), e.getMessage());
  }

  @Test
  void aBatchIsSealedWhenItsOldestWriteReachesTheRpo() {
    WriteBackAggregator a = WriteBackAggregator.create(Limits.defaults(BS));
    a.acknowledged(7, 0);
    a.acknowledged(9, 10 * SECOND);
    assertTrue(a.seal(29 * SECOND).isEmpty(), "29 s: not due");
    assertEquals(29 * SECOND, a.oldestUnconfirmedAgeNanos(29 * SECOND));
    Batch b = a.seal(30 * SECOND).orElseThrow();
    assertEquals(1, b.number());
    assertEquals(List.of(new BlockVersion(7, 1), new BlockVersion(9, 2)), b.blocks());
    assertFalse(a.drained());
    assertTrue(a.confirmed(1));
    assertTrue(a.drained());
    assertEquals(0, a.oldestUnconfirmedAgeNanos(31 * SECOND));
  }

  @Test
  void aBatchIsSealedAtItsSizeAndNeverHoldsMore() {
    Limits limits = new Limits(Duration.ofSeconds(30), 4L * BS, BS, 2);
    WriteBackAggregator a = WriteBackAggregator.create(limits);
    for (long b = 0; b < 4; b++) {
      a.acknowledged(b, 0);
    }
    Batch first = a.seal(0).orElseThrow();
    assertEquals(4, first.blocks().size(), "64 MiB by default, 4 blocks here");
    for (long b = 4; b < 9; b++) {
      a.acknowledged(b, SECOND);
    }
    // The fifth distinct block sealed the full batch first: two in flight, one block open.
    assertEquals(List.of(1L, 2L), a.unconfirmed().stream().map(Batch::number).toList());
    a.acknowledged(8, SECOND);
    assertTrue(a.canAccept(8), "an overwrite of an open block costs nothing");
    for (long b = 9; b < 12; b++) {
      a.acknowledged(b, SECOND);
    }
    assertFalse(a.canAccept(100), "open batch full and no slot in flight: hold the acknowledgement");
    IllegalStateException full = assertThrows(IllegalStateException.class, () -> a.acknowledged(100, SECOND));
    assertTrue(full.getMessage().contains("canAccept"), full.getMessage());
    a.confirmed(1);
    assertTrue(a.canAccept(100));
    a.acknowledged(100, SECOND);
    assertTrue(a.unconfirmed().stream().allMatch(b -> b.blocks().size() <= 4));
  }

  @Test
  void overwritesWithinABatchAreCoalescedAndTheSavingIsCounted() {
    WriteBackAggregator a = WriteBackAggregator.create(Limits.defaults(BS));
    // A database log: the same 4 blocks rewritten again and again, plus one data block per round.
    long now = 0;
    for (int round = 0; round < 100; round++) {
      for (long log = 0; log < 4; log++) {
        a.acknowledged(log, now);
      }
      a.acknowledged(1000 + round, now);
      now += SECOND / 10;
    }
    Batch b = a.sealNow().orElseThrow();
    assertEquals(500, b.writes());
    assertEquals(104, b.blocks().size(), "4 log blocks once each, 100 data blocks");
    assertEquals(0.792, a.stats().coalescedRatio(), 1e-9);
    // The log blocks were last written in the last round, after data block 1098.
    List<Long> order = b.blocks().stream().map(BlockVersion::block).toList();
    assertEquals(List.of(1098L, 0L, 1L, 2L, 3L, 1099L), order.subList(98, 104), "blocks in the order they were last written");
    assertTrue(b.blocks().stream().mapToLong(BlockVersion::sequence).reduce(0, (x, y) -> {
      assertTrue(y > x, "ascending sequences");
      return y;
    }) > 0);
  }

  @Test
  void theSourceAppliesInOrderAndNeverLetsAnOlderVersionWin() {
    WriteBackApplier s = WriteBackApplier.create(16);
    Batch one = new Batch(1, List.of(new BlockVersion(3, 5)), 1, 0);
    Batch two = new Batch(2, List.of(new BlockVersion(3, 4), new BlockVersion(4, 6)), 2, 0);
    IllegalStateException gap = assertThrows(IllegalStateException.class, () -> s.plan(two));
    assertTrue(gap.getMessage().contains("arrived before batch 1"), gap.getMessage());
    s.applied(s.plan(one));
    WriteBackApplier.Plan p = s.plan(two);
    assertEquals(List.of(new BlockVersion(4, 6)), p.write());
    assertEquals(1, p.skippedOlder(), "sequence 4 is older than the 5 the source holds");
    s.applied(p);
    assertEquals(5, s.appliedSequence(3));
    WriteBackApplier.Plan again = s.plan(one);
    assertTrue(again.duplicate());
    assertTrue(again.write().isEmpty(), "a resent batch writes nothing and is confirmed again");
    s.applied(again);
    assertEquals(2, s.lastBatch());
  }

  @Test
  void confirmationsComeInOrder() {
    WriteBackAggregator a = WriteBackAggregator.create(Limits.defaults(BS));
    a.acknowledged(1, 0);
    a.sealNow();
    a.acknowledged(2, 0);
    a.sealNow();
    assertThrows(IllegalStateException.class, () -> a.confirmed(2));
    assertTrue(a.confirmed(1));
    assertFalse(a.confirmed(1), "a second confirmation of a batch is ignored");
    assertTrue(a.confirmed(2));
    assertTrue(a.drained());
  }

  @Test
  void aRestartedTargetKeepsItsUnconfirmedWritesAndItsSequences() {
    WriteBackAggregator a = WriteBackAggregator.create(Limits.defaults(BS));
    a.acknowledged(1, 0);
    a.acknowledged(2, 0);
    a.sealNow();
    a.acknowledged(1, SECOND);
    WriteBackAggregator r = WriteBackAggregator.recover(Limits.defaults(BS), a.pending(), a.lastSequence(), a.lastBatch(), 5 * SECOND);
    Batch b = r.sealNow().orElseThrow();
    assertEquals(2, b.number(), "batch numbers continue");
    assertEquals(List.of(new BlockVersion(2, 2), new BlockVersion(1, 3)), b.blocks(), "block 1 at its newest version only");
    assertEquals(4, r.acknowledged(9, 6 * SECOND), "sequences continue");
  }

  /**
   * Random writes; batches sealed on time and size, sometimes lost and sent again, the target
   * restarted from what it persisted, the source restarted never (its state is the applier's). In
   * the end every block at the source holds the newest acknowledged version.
   */
  @Test
  void underResendsAndRestartsTheSourceEndsWithEveryNewestWrite(Seed seed) {
    Random r = seed.random();
    for (int run = 0; run < 50; run++) {
      Limits limits = new Limits(Duration.ofSeconds(1 + r.nextInt(5)), (1 + r.nextInt(8)) * (long) BS, BS, 1 + r.nextInt(3));
      WriteBackAggregator target = WriteBackAggregator.create(limits);
      WriteBackApplier applier = WriteBackApplier.create(32);
      long[] newest = new long[32];
      long[] atSource = new long[32];
      long now = 0;
      for (int step = 0; step < 400; step++) {
        now += r.nextInt(300) * 1_000_000L;
        int what = r.nextInt(10);
        if (what < 6) {
          long block = r.nextInt(32);
          if (target.canAccept(block)) {
            newest[(int) block] = target.acknowledged(block, now);
          }
        } else if (what < 8) {
          target.seal(now);
        } else if (what == 8) {
          List<Batch> out = new ArrayList<>(target.unconfirmed());
          for (Batch b : out) {
            if (r.nextInt(4) == 0) {
              break; // lost on the way; sent again later
            }
            WriteBackApplier.Plan p = applier.plan(b);
            p.write().forEach(v -> atSource[(int) v.block()] = Math.max(atSource[(int) v.block()], v.sequence()));
            applier.applied(p);
            target.confirmed(b.number());
          }
        } else if (r.nextInt(5) == 0) {
          // The target restarts: only what it persisted survives, and numbering goes on from the
          // last batch the source says it applied. Versions the source applied without confirming
          // come back in a new batch and are skipped there.
          List<BlockVersion> pending = target.pending();
          List<Batch> lostInFlight = target.unconfirmed();
          target = WriteBackAggregator.recover(limits, pending, target.lastSequence(), applier.lastBatch(), now);
          assertTrue(lostInFlight.stream().allMatch(b -> pending.containsAll(b.blocks())), "nothing unconfirmed forgotten");
        }
      }
      // Drain: seal and deliver everything.
      for (int i = 0; i < 10_000 && !target.drained(); i++) {
        target.sealNow();
        for (Batch b : target.unconfirmed()) {
          WriteBackApplier.Plan p = applier.plan(b);
          p.write().forEach(v -> atSource[(int) v.block()] = Math.max(atSource[(int) v.block()], v.sequence()));
          applier.applied(p);
          target.confirmed(b.number());
        }
      }
      assertTrue(target.drained(), seed + " run " + run);
      assertArrayEquals(newest, atSource, seed + " run " + run + ": the source holds every newest acknowledged write");
      assertArrayEquals(newest, applier.appliedSequences(), seed + " run " + run);
    }
  }
}
