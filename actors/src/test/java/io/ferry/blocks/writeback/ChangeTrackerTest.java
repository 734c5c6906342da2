package io.ferry.blocks.writeback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.writeback.ChangeTracker.Shipment;
import io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(SeedExtension.class)
class ChangeTrackerTest {

  @TempDir Path dir;

  @Test
  void aShipmentTakesTheOldestVersionsAndAWriteDuringItStaysPending() throws Exception {
    try (ChangeTracker t = ChangeTracker.open(dir.resolve("c.log"), 0)) {
      t.written(5, 0);
      t.written(7, 0);
      t.written(5, 0); // coalesced: block 5 once, at its newest sequence
      t.written(9, 0);
      assertEquals(3, t.pendingBlocks());
      Shipment s = t.ship(2).orElseThrow();
      assertEquals(List.of(new BlockVersion(7, 2), new BlockVersion(5, 3)), s.blocks());
      assertEquals(s, t.ship(100).orElseThrow(), "one shipment in flight: the same is returned until confirmed");
      t.written(7, 0); // rewritten while in flight
      assertTrue(t.confirmed(s.number()));
      assertFalse(t.confirmed(s.number()), "a duplicate confirmation changes nothing");
      assertEquals(2, t.pendingBlocks(), "block 9 and the newer version of 7");
      assertEquals(List.of(new BlockVersion(9, 4), new BlockVersion(7, 5)), t.ship(100).orElseThrow().blocks());
    }
  }

  @Test
  void writeBackIsDueByAgeOrBySize() throws Exception {
    try (ChangeTracker t = ChangeTracker.open(dir.resolve("d.log"), 0)) {
      assertFalse(t.due(1_000, 100, 10), "nothing pending");
      t.written(1, 1_000);
      assertFalse(t.due(1_050, 100, 10));
      assertTrue(t.due(1_100, 100, 10), "the oldest write is an RPO old");
      t.written(2, 1_100);
      assertTrue(t.due(1_000, 100, 2), "two distinct blocks fill a batch of two");
    }
  }

  /**
   * Writes, shipments applied at a model source (the bytes it gets are the target's newest at the
   * time it applies), confirmations, and crashes of the target anywhere (after the source applied a
   * shipment and before its confirmation too), recovered from the log alone: every acknowledged
   * write is at the source or still pending, and after a final drain the source holds every block's
   * newest acknowledged version.
   */
  @Test
  void everyAcknowledgedWriteReachesTheSourceAcrossCrashes(Seed seed) throws Exception {
    Random r = seed.random();
    for (int run = 0; run < 50; run++) {
      Path log = dir.resolve("run-" + run + ".log");
      Map<Long, Long> store = new HashMap<>(); // block -> newest acknowledged sequence (what the target's store holds)
      Map<Long, Long> source = new HashMap<>();
      AcknowledgedWrites acked = new AcknowledgedWrites();
      ChangeTracker t = ChangeTracker.open(log, 0);
      int crashes = 0;
      for (int op = 0; op < 300; op++) {
        int kind = r.nextInt(10);
        if (kind < 6) {
          long b = r.nextInt(40);
          long seq = t.written(b, op);
          store.put(b, seq);
          acked.acknowledged(b, seq);
        } else if (kind < 9) {
          var s = t.ship(1 + r.nextInt(12));
          if (s.isPresent()) {
            for (BlockVersion v : s.get().blocks()) {
              source.put(v.block(), store.get(v.block())); // read at shipping time: at least v's version
            }
            if (r.nextInt(4) > 0) {
              assertTrue(t.confirmed(s.get().number()));
            }
          }
        } else {
          t.close(); // the target's member crashes; an unconfirmed shipment is shipped again
          t = ChangeTracker.open(log, op);
          crashes++;
        }
        ChangeTracker now = t;
        List<String> lost = acked.missing(b -> source.getOrDefault(b, 0L) >= store.get(b) || now.pendingSequence(b) == store.get(b) ? Long.MAX_VALUE : 0);
        assertEquals(List.of(), lost, "run " + run + " op " + op + " (" + crashes + " crashes): writes neither at the source nor pending " + seed.replayOption());
      }
      while (t.pendingBlocks() > 0) {
        Shipment s = t.ship(Integer.MAX_VALUE).orElseThrow();
        s.blocks().forEach(v -> source.put(v.block(), store.get(v.block())));
        t.confirmed(s.number());
      }
      t.close();
      assertEquals(List.of(), acked.missing(b -> source.getOrDefault(b, 0L)), "after the drain the source holds every newest version " + seed.replayOption());
      try (ChangeTracker again = ChangeTracker.open(log, 0)) {
        assertEquals(0, again.pendingBlocks(), "a drained log recovers with nothing pending");
      }
    }
  }

  @Test
  void theCheckerCatchesAWriteThePrimaryLacks() {
    AcknowledgedWrites acked = new AcknowledgedWrites();
    acked.acknowledged(3, 10);
    acked.acknowledged(3, 12);
    acked.acknowledged(4, 11);
    Map<Long, Long> primary = Map.of(3L, 10L, 4L, 11L); // block 3's newest write (12) never arrived
    assertEquals(List.of("block 3: the primary holds version 10, the newest acknowledged is 12"), acked.missing(b -> primary.getOrDefault(b, 0L)));
    assertEquals(List.of(), acked.missing(b -> 99));
  }
}
