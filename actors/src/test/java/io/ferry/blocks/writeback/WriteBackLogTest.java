package io.ferry.blocks.writeback;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.writeback.WriteBackAggregator.Batch;
import io.ferry.blocks.writeback.WriteBackAggregator.Limits;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write-back across target crashes: the log is written before each acknowledgement, the target is
 * killed at a random point (its log copied as the crash left it, with the record of a write not yet
 * acknowledged torn), recovers from the log alone and drains: the source ends with the newest
 * version of every acknowledged write.
 */
@ExtendWith(SeedExtension.class)
class WriteBackLogTest {

  private static final int BS = 64 * 1024;
  private static final long MS = 1_000_000L;

  @TempDir Path dir;

  @Test
  void aCrashedTargetRecoversEveryAcknowledgedWriteFromItsLog(Seed seed) throws Exception {
    Random r = seed.random();
    for (int run = 0; run < 10; run++) {
      Limits limits = new Limits(Duration.ofMillis(50 + r.nextInt(500)), (1 + r.nextInt(6)) * (long) BS, BS, 1 + r.nextInt(3));
      Path path = dir.resolve("wb-" + run + ".log");
      WriteBackApplier source = WriteBackApplier.create(64);
      long[] newest = new long[64];
      int crashes = 0;
      Map.Entry<WriteBackLog, WriteBackLog.Recovered> opened = WriteBackLog.open(path);
      WriteBackLog log = opened.getKey();
      WriteBackAggregator target = WriteBackAggregator.create(limits);
      long now = 0;
      for (int step = 0; step < 300; step++) {
        now += r.nextInt(40) * MS;
        int what = r.nextInt(10);
        if (what < 6) {
          long block = r.nextInt(64);
          if (target.canAccept(block)) {
            long seq = target.lastSequence() + 1;
            log.acknowledged(block, seq); // durable first
            assertEquals(seq, target.acknowledged(block, now));
            newest[(int) block] = seq;
          }
        } else if (what < 8) {
          target.seal(now);
        } else if (what == 8) {
          for (Batch b : target.unconfirmed()) {
            if (r.nextInt(3) == 0) {
              break;
            }
            WriteBackApplier.Plan p = source.plan(b);
            source.applied(p);
            if (r.nextInt(5) == 0) {
              break; // applied, but the confirmation is lost
            }
            log.confirmed(b);
            target.confirmed(b.number());
          }
        } else {
          // kill -9: a write being logged and not acknowledged may leave a torn record.
          log.acknowledged(r.nextInt(64), target.lastSequence() + 1);
          log.close();
          Path crashed = dir.resolve("crashed-" + run + "-" + crashes++);
          Files.copy(path, crashed, StandardCopyOption.REPLACE_EXISTING);
          try (FileChannel c = FileChannel.open(crashed, StandardOpenOption.WRITE)) {
            c.truncate(c.size() - 1 - r.nextInt(20));
          }
          Files.move(crashed, path, StandardCopyOption.REPLACE_EXISTING);
          opened = WriteBackLog.open(path);
          log = opened.getKey();
          WriteBackLog.Recovered rec = opened.getValue();
          assertTrue(rec.droppedBytes() > 0, "the torn record is dropped");
          // The source says which batch it applied last when the target attaches again.
          target = WriteBackAggregator.recover(limits, rec.pending(), rec.lastSequence(), source.lastBatch(), now);
          if (r.nextBoolean()) {
            log.compact(target.pending(), rec.lastConfirmedBatch(), 0);
          }
        }
      }
      for (int i = 0; i < 10_000 && !target.drained(); i++) {
        target.sealNow();
        for (Batch b : target.unconfirmed()) {
          source.applied(source.plan(b));
          log.confirmed(b);
          target.confirmed(b.number());
        }
      }
      log.close();
      assertTrue(target.drained(), seed + " run " + run);
      assertArrayEquals(newest, source.appliedSequences(), seed + " run " + run + " after " + crashes + " crashes");
    }
  }

  /** Seed 234403123020993238 found it: a compaction that kept no write forgot the sequences, and the next writes reused them. */
  @Test
  void aCompactedLogNeverGivesASequenceTwice() throws Exception {
    Path path = dir.resolve("wb.log");
    WriteBackLog log = WriteBackLog.open(path).getKey();
    for (long seq = 1; seq <= 5; seq++) {
      log.acknowledged(seq, seq);
    }
    log.compact(java.util.List.of(), 1, 0); // every write confirmed; the caller's watermark says nothing
    log.close();
    Map.Entry<WriteBackLog, WriteBackLog.Recovered> reopened = WriteBackLog.open(path);
    assertEquals(5, reopened.getValue().lastSequence());
    assertTrue(reopened.getValue().pending().isEmpty());
    reopened.getKey().compact(java.util.List.of(), 1, 0); // the second compaction carries it on
    reopened.getKey().close();
    assertEquals(5, WriteBackLog.open(path).getValue().lastSequence());
    // the confirmation's watermark alone also keeps it (a log written before the HIGHEST record)
    Path old = dir.resolve("old.log");
    WriteBackLog o = WriteBackLog.open(old).getKey();
    o.confirmed(new Batch(3, java.util.List.of(new WriteBackAggregator.BlockVersion(7, 9)), 1, 0));
    o.close();
    assertEquals(9, WriteBackLog.open(old).getValue().lastSequence());
  }
}
