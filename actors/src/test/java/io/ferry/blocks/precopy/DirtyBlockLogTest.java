package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source's change log across crashes: a restart recovers every mark of a write that began
 * (so its bytes may be in the image) and was not shipped since, a torn last record is dropped, and
 * anything else unreadable (damage in the middle, a header that is not this volume's, no log) means
 * a full recopy with the reason. Marks leave only for blocks a flushed pass shipped and no write
 * touched meanwhile.
 */
@ExtendWith(SeedExtension.class)
class DirtyBlockLogTest {

  private static final int BS = 4096;
  private static final int BLOCKS = 200;

  @TempDir Path dir;

  /** Copies the log as a kill -9 would leave it, optionally with its last {@code tear} bytes lost. */
  private Path crashCopy(Path log, int tear) throws Exception {
    Path crashed = dir.resolve("crashed-" + System.nanoTime());
    Files.copy(log, crashed, StandardCopyOption.REPLACE_EXISTING);
    if (tear > 0) {
      try (FileChannel c = FileChannel.open(crashed, StandardOpenOption.WRITE)) {
        c.truncate(c.size() - tear);
      }
    }
    return crashed;
  }

  @Test
  void aRestartRecoversEveryUnshippedMarkAndDropsATornLastRecord(Seed seed) throws Exception {
    Random r = seed.random();
    for (int run = 0; run < 8; run++) {
      Path path = dir.resolve("run-" + run + ".ferry-dirty");
      DirtyBlocks dirty = new DirtyBlocks(BLOCKS);
      DirtyBlockLog log = DirtyBlockLog.open(path, BS, dirty, false);
      // What a restart must find: blocks written since they were last shipped durably.
      BitSet mustKeep = new BitSet();
      for (int step = 0; step < 60; step++) {
        int what = r.nextInt(10);
        if (what < 7) {
          long first = r.nextInt(BLOCKS);
          long last = Math.min(BLOCKS - 1, first + r.nextInt(4));
          DirtyBlockLog.Pending p = log.beginWrite(first, last);
          dirty.mark(first, last); // the bytes are in the image
          mustKeep.set((int) first, (int) last + 1);
          log.endWrite(p);
        } else {
          // A pass ships some of the change set, the target flushes, the marks may go.
          long[] set = dirty.snapshot();
          for (long b : set) {
            if (r.nextBoolean()) {
              dirty.clear(b);
            }
          }
          DirtyBlockLog.Cut cut = log.cut(dirty);
          log.forget(cut, dirty);
          mustKeep.clear();
          mustKeep.or(dirty.bits());
        }
      }
      assertEquals(mustKeep.cardinality(), log.loggedBlocks(), seed + " run " + run);
      // kill -9 while a first write to a clean block is being logged: its record may be torn.
      int clean = mustKeep.nextClearBit(r.nextInt(BLOCKS));
      int tear = 0;
      if (clean < BLOCKS) {
        long before = log.sizeBytes();
        log.beginWrite(clean, clean); // never ends: its bytes were not written
        assertEquals(before + DirtyBlockLog.RECORD_BYTES, log.sizeBytes());
        tear = 1 + r.nextInt(DirtyBlockLog.RECORD_BYTES - 1);
      }
      log.close();
      Path crashed = crashCopy(path, tear);
      DirtyBlocks after = new DirtyBlocks(BLOCKS);
      DirtyBlockLog reopened = DirtyBlockLog.open(crashed, BS, after, true);
      DirtyBlockLog.Recovery rec = reopened.recovery();
      assertTrue(rec.readable(), rec.reason());
      assertEquals(tear == 0 ? 0 : DirtyBlockLog.RECORD_BYTES - tear, rec.tornBytes(), rec.toString());
      assertEquals(mustKeep, after.bits(), seed + " run " + run + ": " + rec);
      assertEquals(0, after.marksTotal(), "recovered marks are not counted as writes");
      // The reopened log is rewritten clean: a second restart reads the same, nothing torn.
      reopened.close();
      DirtyBlocks again = new DirtyBlocks(BLOCKS);
      DirtyBlockLog third = DirtyBlockLog.open(crashed, BS, again, true);
      assertEquals(0, third.recovery().tornBytes());
      assertEquals(mustKeep, again.bits());
      third.close();
    }
  }

  @Test
  void aWriteUnderWayOrBegunDuringTheFlushKeepsItsMark() throws Exception {
    Path path = dir.resolve("race.ferry-dirty");
    DirtyBlocks dirty = new DirtyBlocks(BLOCKS);
    DirtyBlockLog log = DirtyBlockLog.open(path, BS, dirty, false);
    for (long b = 0; b < 4; b++) {
      log.endWrite(log.beginWrite(b, b));
      dirty.mark(b, b);
    }
    DirtyBlockLog.Pending underWay = log.beginWrite(10, 10); // its bytes are not in the image yet
    // The pass copies 0..3 and 10 (10's mark is cleared before the copy reads it).
    for (long b : new long[] {0, 1, 2, 3}) {
      dirty.clear(b);
    }
    DirtyBlockLog.Cut cut = log.cut(dirty);
    // While the target flushes: a mirrored write (write-blocking marks nothing in memory) to block 2.
    log.endWrite(log.beginWrite(2, 2));
    log.forget(cut, dirty);
    assertEquals(2, log.loggedBlocks(), "block 2 was written during the flush, block 10's write is under way");
    log.endWrite(underWay);
    dirty.mark(10, 10);
    log.close();
    DirtyBlocks after = new DirtyBlocks(BLOCKS);
    DirtyBlockLog reopened = DirtyBlockLog.open(path, BS, after, true);
    assertArrayEquals(new long[] {2, 10}, after.snapshot());
    reopened.close();
  }

  @Test
  void aHotBlockIsForcedOnceUntilItIsShipped() throws Exception {
    Path path = dir.resolve("hot.ferry-dirty");
    DirtyBlocks dirty = new DirtyBlocks(BLOCKS);
    DirtyBlockLog log = DirtyBlockLog.open(path, BS, dirty, false);
    long empty = log.sizeBytes();
    for (int i = 0; i < 1000; i++) {
      log.endWrite(log.beginWrite(7, 8));
      dirty.mark(7, 8);
    }
    assertEquals(empty + DirtyBlockLog.RECORD_BYTES, log.sizeBytes(), "one record for a thousand writes of the same blocks");
    dirty.clear(7);
    dirty.clear(8);
    log.forget(log.cut(dirty), dirty);
    assertEquals(empty, log.sizeBytes(), "shipped and flushed: the rewrite holds no mark");
    log.endWrite(log.beginWrite(7, 7));
    assertEquals(empty + DirtyBlockLog.RECORD_BYTES, log.sizeBytes(), "a write after the shipment is forced again");
    log.close();
  }

  @Test
  void damageThatIsNotATornTailMeansAFullRecopyWithTheReason(Seed seed) throws Exception {
    Random r = seed.random();
    Path path = dir.resolve("damaged.ferry-dirty");
    DirtyBlocks dirty = new DirtyBlocks(BLOCKS);
    DirtyBlockLog log = DirtyBlockLog.open(path, BS, dirty, false);
    List<Long> written = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      long b = i * 15L;
      log.endWrite(log.beginWrite(b, b));
      written.add(b);
    }
    log.close();
    // A flipped bit in a record with records after it.
    Path middle = crashCopy(path, 0);
    flip(middle, DirtyBlockLog.HEADER_BYTES + DirtyBlockLog.RECORD_BYTES * (1 + r.nextInt(8)) + r.nextInt(DirtyBlockLog.RECORD_BYTES));
    assertFullRecopy(middle, BS, "damaged at byte");
    // A flipped bit in the header.
    Path header = crashCopy(path, 0);
    flip(header, r.nextInt(DirtyBlockLog.HEADER_BYTES));
    assertFullRecopy(header, BS, "header");
    // A header torn short, a log of another geometry, no log at all.
    Path shortHeader = crashCopy(path, 0);
    try (FileChannel c = FileChannel.open(shortHeader, StandardOpenOption.WRITE)) {
      c.truncate(1 + r.nextInt(DirtyBlockLog.HEADER_BYTES - 1));
    }
    assertFullRecopy(shortHeader, BS, "no whole header");
    assertFullRecopy(crashCopy(path, 0), BS * 2, "is for 200 blocks of 4096 bytes");
    assertFullRecopy(dir.resolve("never-written.ferry-dirty"), BS, "missing");
    // The undamaged log reads back exactly.
    DirtyBlocks ok = new DirtyBlocks(BLOCKS);
    DirtyBlockLog reopened = DirtyBlockLog.open(crashCopy(path, 0), BS, ok, true);
    assertTrue(reopened.recovery().readable());
    assertEquals(written, java.util.Arrays.stream(ok.snapshot()).boxed().toList());
    reopened.close();
  }

  @Test
  void aCrashDuringARewriteLeavesTheOldLog() throws Exception {
    Path path = dir.resolve("rewrite.ferry-dirty");
    DirtyBlocks dirty = new DirtyBlocks(BLOCKS);
    DirtyBlockLog log = DirtyBlockLog.open(path, BS, dirty, false);
    log.endWrite(log.beginWrite(5, 6));
    log.close();
    // The rewrite's temporary file half written, the rename never done.
    Files.write(DirtyBlockLog.rewritePath(path), new byte[] {1, 2, 3});
    DirtyBlocks after = new DirtyBlocks(BLOCKS);
    DirtyBlockLog reopened = DirtyBlockLog.open(path, BS, after, true);
    assertArrayEquals(new long[] {5, 6}, after.snapshot());
    assertFalse(Files.exists(DirtyBlockLog.rewritePath(path)), "the stale rewrite is removed");
    reopened.close();
  }

  @Test
  void aFirstStartForgetsAStaleLogAndAWriteThatEndsTwiceIsCaught() throws Exception {
    Path path = dir.resolve("stale.ferry-dirty");
    DirtyBlocks dirty = new DirtyBlocks(BLOCKS);
    DirtyBlockLog log = DirtyBlockLog.open(path, BS, dirty, false);
    DirtyBlockLog.Pending p = log.beginWrite(1, 1);
    log.endWrite(p);
    assertThrows(IllegalStateException.class, () -> log.endWrite(p));
    assertThrows(IllegalArgumentException.class, () -> log.beginWrite(BLOCKS - 1, BLOCKS));
    log.close();
    DirtyBlocks fresh = new DirtyBlocks(BLOCKS);
    DirtyBlockLog again = DirtyBlockLog.open(path, BS, fresh, false);
    assertEquals(0, fresh.count(), "a first start (the journal has no opening) starts empty");
    assertEquals(0, again.loggedBlocks());
    again.close();
    assertThrows(java.io.IOException.class, () -> again.beginWrite(0, 0), "a closed log refuses: the write must not be acknowledged untracked");
  }

  @Test
  void aVolumeOfMoreBlocksThanTheLogCanMarkIsRefusedWithWhatWouldFit() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DirtyBlockLog.read(dir.resolve("any.log"), 4096, DirtyBlockLog.MAX_BLOCKS + 1, new BitSet()));
    assertTrue(e.getMessage().contains("larger than the change log supports"), e.getMessage());
    assertTrue(e.getMessage().contains("use blocks of at least 8192 bytes"), e.getMessage());
    DirtyBlockLog.requireSupported(DirtyBlockLog.MAX_BLOCKS, 4096); // the largest that fits
  }

  private void assertFullRecopy(Path log, int blockSize, String why) throws Exception {
    DirtyBlocks d = new DirtyBlocks(BLOCKS);
    DirtyBlockLog opened = DirtyBlockLog.open(log, blockSize, d, true);
    DirtyBlockLog.Recovery rec = opened.recovery();
    assertFalse(rec.readable(), rec.toString());
    assertTrue(rec.reason().contains(why), rec.reason());
    assertEquals(BLOCKS, d.count(), "every block is recopied");
    assertEquals(BLOCKS, rec.blocksMarked());
    opened.close();
    // The log is rewritten with every mark: a second restart before a pass recopies every block too.
    DirtyBlocks again = new DirtyBlocks(BLOCKS);
    DirtyBlockLog second = DirtyBlockLog.open(log, blockSize, again, true);
    assertTrue(second.recovery().readable(), second.recovery().reason());
    assertEquals(BLOCKS, again.count());
    second.close();
  }

  private static void flip(Path file, int at) throws Exception {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      c.read(one, at);
      one.put(0, (byte) (one.get(0) ^ (1 << (at % 8))));
      one.rewind();
      c.write(one, at);
    }
  }

  private static void assertArrayEquals(long[] expected, long[] actual) {
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
  }
}
