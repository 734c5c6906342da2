package io.ferry.persistence.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.persistence.blocks.internal.RecordFormat;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(SeedExtension.class)
class BlockStoreTest {

  private static final int BS = 4096;
  private static final BlockStoreSettings CHECKED = new BlockStoreSettings(256L << 20, true, 16);

  @TempDir Path dir;

  @Test
  void putThenReadReturnsTheSameBytes() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 10L * BS, BS);
      byte[] block = text(BS, 1);
      assertTrue(store.put("v", 3, sha(block), block, 0, BS, false));
      byte[] dst = new byte[BS];
      assertTrue(store.read("v", 3, dst));
      assertArrayEquals(block, dst);
      assertFalse(store.read("v", 4, dst));
      assertFalse(store.read("unknown", 0, dst));
      assertEquals(BlockEntry.Kind.DATA, store.lookup("v", 3).orElseThrow().kind());
      assertArrayEquals(sha(block), store.lookup("v", 3).orElseThrow().sha256());
      assertArrayEquals(block, store.readByHash(sha(block)).orElseThrow());
      assertEquals(1, store.presentCount("v"));
      BitSet expected = new BitSet();
      expected.set(3);
      assertEquals(expected, store.present("v"));
    }
  }

  @Test
  void aShortLastBlockReadsBackPaddedWithZeros() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", BS + 100, BS);
      byte[] tail = text(100, 2);
      store.put("v", 1, sha(tail), tail, 0, 100, false);
      byte[] dst = new byte[BS];
      java.util.Arrays.fill(dst, (byte) 7);
      assertTrue(store.read("v", 1, dst));
      assertArrayEquals(tail, java.util.Arrays.copyOf(dst, 100));
      for (int i = 100; i < BS; i++) {
        assertEquals(0, dst[i]);
      }
    }
  }

  @Test
  void aBlockSharedByTwoVolumesIsStoredOnce() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("a", 10L * BS, BS);
      store.registerVolume("b", 10L * BS, BS);
      byte[] block = random(BS, new Random(1));
      assertTrue(store.put("a", 0, sha(block), block, 0, BS, false));
      StoreStats first = store.stats();
      assertFalse(store.put("b", 5, sha(block), block, 0, BS, false));
      StoreStats second = store.stats();
      assertEquals(1, second.blocksStored());
      assertEquals(BS, second.logicalBytesStored());
      assertEquals(1, second.dedupHits());
      // Only the 52-byte index record is new: no block bytes.
      assertEquals(first.bytesOnDisk() + 52, second.bytesOnDisk());
      byte[] dst = new byte[BS];
      assertTrue(store.read("b", 5, dst));
      assertArrayEquals(block, dst);
      assertTrue(store.hasHash(sha(block)));
      assertTrue(store.putRef("a", 1, sha(block), false));
      assertFalse(store.putRef("a", 2, sha(random(BS, new Random(2))), false));
      store.registerVolume("big", 4L * 65536, 65536);
      assertThrows(IllegalArgumentException.class, () -> store.putRef("big", 0, sha(block), false));
      assertTrue(store.lookup("a", 2).isEmpty());
      List<byte[]> all = new ArrayList<>();
      store.forEachHash(all::add);
      assertEquals(1, all.size());
      assertArrayEquals(sha(block), all.get(0));
    }
  }

  @Test
  void compressibleBlocksAreStoredCompressed() throws IOException {
    int bs = 64 << 10;
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 100L * bs, bs);
      for (int i = 0; i < 100; i++) {
        byte[] block = text(bs, i);
        store.put("v", i, sha(block), block, 0, bs, false);
      }
      StoreStats stats = store.stats();
      assertEquals(100L * bs, stats.logicalBytesStored());
      assertTrue(
          stats.bytesOnDisk() < stats.logicalBytesStored() / 2,
          "on disk " + stats.bytesOnDisk() + " of " + stats.logicalBytesStored());
      byte[] dst = new byte[bs];
      for (int i = 0; i < 100; i++) {
        assertTrue(store.read("v", i, dst));
        assertArrayEquals(text(bs, i), dst);
      }
    }
  }

  @Test
  void incompressibleBlocksAreStoredRaw() throws IOException {
    int bs = 64 << 10;
    Random random = new Random(3);
    List<byte[]> blocks = new ArrayList<>();
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 10L * bs, bs);
      for (int i = 0; i < 10; i++) {
        byte[] block = random(bs, random);
        blocks.add(block);
        store.put("v", i, sha(block), block, 0, bs, false);
      }
      long dataBytes = Files.size(dir.resolve(RecordFormat.segmentFileName(0)));
      assertEquals(10L * (RecordFormat.DATA_HEADER_BYTES + bs), dataBytes);
      byte[] dst = new byte[bs];
      for (int i = 0; i < 10; i++) {
        assertTrue(store.read("v", i, dst));
        assertArrayEquals(blocks.get(i), dst);
      }
    }
  }

  @Test
  void zeroEntriesReadAsZerosAndStoreNothing() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 10L * BS, BS);
      store.putZero("v", 2, false);
      byte[] dst = new byte[BS];
      java.util.Arrays.fill(dst, (byte) 1);
      assertTrue(store.read("v", 2, dst));
      assertArrayEquals(new byte[BS], dst);
      BlockEntry entry = store.lookup("v", 2).orElseThrow();
      assertEquals(BlockEntry.Kind.ZERO, entry.kind());
      assertEquals(null, entry.sha256());
      StoreStats stats = store.stats();
      assertEquals(0, stats.blocksStored());
      assertEquals(1, stats.zeroEntries());
      assertEquals(1, store.presentCount("v"));
      byte[] block = text(BS, 9);
      store.put("v", 2, sha(block), block, 0, BS, false);
      assertEquals(0, store.stats().zeroEntries());
    }
  }

  @Test
  void aLocalWriteWinsOverLaterBackgroundBlocks() throws IOException {
    byte[] background = text(BS, 1);
    byte[] local = text(BS, 2);
    byte[] late = text(BS, 3);
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 10L * BS, BS);
      store.put("v", 0, sha(background), background, 0, BS, false);
      assertTrue(store.put("v", 0, sha(local), local, 0, BS, true));
      assertFalse(store.put("v", 0, sha(late), late, 0, BS, false));
      assertFalse(store.putRef("v", 0, sha(background), false));
      store.putZero("v", 0, false);
      BlockEntry entry = store.lookup("v", 0).orElseThrow();
      assertEquals(BlockEntry.Kind.DATA, entry.kind());
      assertTrue(entry.localWrite());
      assertArrayEquals(sha(local), entry.sha256());
      // A background block for an index the workload never wrote still lands.
      assertTrue(store.put("v", 1, sha(late), late, 0, BS, false));
      // A later local write replaces an earlier one, including with zeros.
      store.putZero("v", 1, true);
      assertEquals(BlockEntry.Kind.ZERO, store.lookup("v", 1).orElseThrow().kind());
      assertFalse(store.put("v", 1, sha(late), late, 0, BS, false));
    }
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      BlockEntry entry = store.lookup("v", 0).orElseThrow();
      assertTrue(entry.localWrite());
      assertArrayEquals(sha(local), entry.sha256());
      assertFalse(store.put("v", 0, sha(late), late, 0, BS, false));
      assertTrue(store.lookup("v", 1).orElseThrow().localWrite());
    }
  }

  @Test
  void reopeningRestoresVolumesEntriesAndStats() throws IOException {
    Random random = new Random(4);
    BlockStoreSettings small = new BlockStoreSettings(1 << 20, true, 0);
    List<byte[]> blocks = new ArrayList<>();
    StoreStats before;
    try (BlockStore store = BlockStore.open(dir, small)) {
      store.registerVolume("a", 600L * BS, BS);
      store.registerVolume("b", 8L * 65536, 65536);
      store.registerVolume("gone", 8L * BS, BS);
      for (int i = 0; i < 600; i++) {
        byte[] block = i % 2 == 0 ? random(BS, random) : text(BS, i);
        blocks.add(block);
        store.put("a", i, sha(block), block, 0, BS, i % 7 == 0);
      }
      store.putZero("b", 3, false);
      store.putRef("gone", 0, sha(blocks.get(0)), false);
      store.deleteVolume("gone");
      before = store.stats();
    }
    assertTrue(Files.exists(dir.resolve(RecordFormat.segmentFileName(1))), "segments roll at 1 MiB");
    try (BlockStore store = BlockStore.open(dir, small)) {
      StoreStats after = store.stats();
      assertEquals(before.blocksStored(), after.blocksStored());
      assertEquals(before.logicalBytesStored(), after.logicalBytesStored());
      assertEquals(before.bytesOnDisk(), after.bytesOnDisk());
      assertEquals(before.zeroEntries(), after.zeroEntries());
      assertEquals(new VolumeGeometry(8L * 65536, 65536), store.geometry("b").orElseThrow());
      assertTrue(store.geometry("gone").isEmpty());
      assertEquals(600, store.presentCount("a"));
      byte[] dst = new byte[BS];
      for (int i = 0; i < 600; i++) {
        assertTrue(store.read("a", i, dst));
        assertArrayEquals(blocks.get(i), dst, "block " + i);
        assertEquals(i % 7 == 0, store.lookup("a", i).orElseThrow().localWrite());
      }
      assertEquals(BlockEntry.Kind.ZERO, store.lookup("b", 3).orElseThrow().kind());
      store.registerVolume("gone", 4L * 65536, 65536);
      assertEquals(0, store.presentCount("gone"));
      byte[] more = text(BS, 1000);
      assertTrue(store.put("a", 599, sha(more), more, 0, BS, true));
    }
  }

  @Test
  void aDifferentGeometryForARegisteredVolumeIsRefused() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 1 << 30, 65536);
      store.registerVolume("v", 1 << 30, 65536);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> store.registerVolume("v", 1 << 30, BS));
      assertTrue(e.getMessage().contains("volume v is registered with size"), e.getMessage());
      IllegalArgumentException bad =
          assertThrows(IllegalArgumentException.class, () -> store.registerVolume("w", 1 << 20, 3000));
      assertEquals("block size must be a power of two between 4 KiB and 4 MiB, got 3000", bad.getMessage());
      assertThrows(IllegalArgumentException.class, () -> store.registerVolume("w", 1 << 20, 8 << 20));
    }
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      assertThrows(IllegalArgumentException.class, () -> store.registerVolume("v", 1 << 29, 65536));
    }
  }

  @Test
  void aWrongHashIsRefusedWhenVerifying() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      store.registerVolume("v", 10L * BS, BS);
      byte[] block = text(BS, 1);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> store.put("v", 0, sha(text(BS, 2)), block, 0, BS, false));
      assertTrue(e.getMessage().contains("v/0"), e.getMessage());
      assertTrue(store.lookup("v", 0).isEmpty());
    }
  }

  @Test
  void aSecondOpenOfTheSameDirectoryIsRefused() throws IOException {
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      assertThrows(IOException.class, () -> BlockStore.open(dir, CHECKED));
    }
  }

  @Test
  void tornTailsOfTheIndexLogAndTheSegmentAreDroppedOnRecovery(Seed testSeed) throws IOException {
    long seed = testSeed.value();
    Random random = new Random(seed);
    int n = 200;
    Path original = dir.resolve("original");
    List<byte[]> blocks = new ArrayList<>();
    try (BlockStore store = BlockStore.open(original, CHECKED)) {
      store.registerVolume("v", (long) n * BS, BS);
      for (int i = 0; i < n; i++) {
        byte[] block = random(BS, random);
        blocks.add(block);
        store.put("v", i, sha(block), block, 0, BS, false);
      }
    }
    long indexSize = Files.size(original.resolve("index.log"));
    long segmentSize = Files.size(original.resolve(RecordFormat.segmentFileName(0)));
    int volumeRecord = RecordFormat.INDEX_RECORD_HEADER_BYTES + RecordFormat.VOLUME_BODY_BYTES_FIXED + 1;
    int mapRecord = RecordFormat.INDEX_RECORD_HEADER_BYTES + RecordFormat.MAP_DATA_BODY_BYTES;
    int dataRecord = RecordFormat.DATA_HEADER_BYTES + BS;
    assertEquals(RecordFormat.INDEX_FILE_HEADER_BYTES + volumeRecord + (long) n * mapRecord, indexSize);
    assertEquals((long) n * dataRecord, segmentSize);
    for (int round = 0; round < 12; round++) {
      long indexCut =
          RecordFormat.INDEX_FILE_HEADER_BYTES + volumeRecord
              + (long) (random.nextDouble() * (indexSize - RecordFormat.INDEX_FILE_HEADER_BYTES - volumeRecord));
      long segmentCut = round % 3 == 0 ? segmentSize : (long) (random.nextDouble() * segmentSize);
      Path copy = dir.resolve("round-" + round);
      copyDir(original, copy);
      truncate(copy.resolve("index.log"), indexCut);
      truncate(copy.resolve(RecordFormat.segmentFileName(0)), segmentCut);
      long indexSurvivors = (indexCut - RecordFormat.INDEX_FILE_HEADER_BYTES - volumeRecord) / mapRecord;
      long dataSurvivors = segmentCut / dataRecord;
      String context = "seed=" + seed + " round=" + round + " indexCut=" + indexCut + " segmentCut=" + segmentCut;
      try (BlockStore store = BlockStore.open(copy, CHECKED)) {
        byte[] dst = new byte[BS];
        for (int i = 0; i < n; i++) {
          boolean expected = i < indexSurvivors && i < dataSurvivors;
          assertEquals(expected, store.lookup("v", i).isPresent(), context + " block " + i);
          assertEquals(expected, store.read("v", i, dst), context + " block " + i);
          if (expected) {
            assertArrayEquals(blocks.get(i), dst, context + " block " + i);
          }
          assertEquals(i < dataSurvivors, store.hasHash(sha(blocks.get(i))), context + " hash " + i);
        }
        // The store takes writes after recovery and they survive the next reopen.
        byte[] block = blocks.get(n - 1);
        store.put("v", n - 1, sha(block), block, 0, BS, true);
      }
      try (BlockStore store = BlockStore.open(copy, CHECKED)) {
        byte[] dst = new byte[BS];
        assertTrue(store.read("v", n - 1, dst), context);
        assertArrayEquals(blocks.get(n - 1), dst, context);
      }
    }
  }

  @Test
  void aFlippedBitInABlockIsNeverServed() throws IOException {
    Random random = new Random(5);
    List<byte[]> blocks = new ArrayList<>();
    try (BlockStore store = BlockStore.open(dir, new BlockStoreSettings(256L << 20, false, 0))) {
      store.registerVolume("v", 3L * BS, BS);
      for (int i = 0; i < 3; i++) {
        byte[] block = random(BS, random);
        blocks.add(block);
        store.put("v", i, sha(block), block, 0, BS, false);
      }
      flipBit(dir.resolve(RecordFormat.segmentFileName(0)), (long) (RecordFormat.DATA_HEADER_BYTES + BS) + 52 + 1000);
      IOException e = assertThrows(IOException.class, () -> store.read("v", 1, new byte[BS]));
      assertTrue(e.getMessage().contains("block v/1"), e.getMessage());
      assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());
      assertThrows(IOException.class, () -> store.readByHash(sha(blocks.get(1))));
    }
    try (BlockStore store = BlockStore.open(dir, CHECKED)) {
      byte[] dst = new byte[BS];
      assertTrue(store.lookup("v", 1).isEmpty(), "the corrupt block is absent after recovery");
      assertFalse(store.read("v", 1, dst));
      assertTrue(store.read("v", 0, dst));
      assertArrayEquals(blocks.get(0), dst);
      assertTrue(store.read("v", 2, dst), "records after the corrupt one are kept");
      assertArrayEquals(blocks.get(2), dst);
      byte[] again = blocks.get(1);
      assertTrue(store.put("v", 1, sha(again), again, 0, BS, false), "the block can be fetched again");
      assertTrue(store.read("v", 1, dst));
      assertArrayEquals(again, dst);
    }
  }

  @Test
  void aFlippedBitInASealedSegmentFailsTheReadLoudly() throws IOException {
    Random random = new Random(6);
    int n = 300;
    BlockStoreSettings small = new BlockStoreSettings(1 << 20, false, 0);
    try (BlockStore store = BlockStore.open(dir, small)) {
      store.registerVolume("v", (long) n * BS, BS);
      for (int i = 0; i < n; i++) {
        byte[] block = random(BS, random);
        store.put("v", i, sha(block), block, 0, BS, false);
      }
    }
    flipBit(dir.resolve(RecordFormat.segmentFileName(0)), 10L * (RecordFormat.DATA_HEADER_BYTES + BS) + 60);
    try (BlockStore store = BlockStore.open(dir, small)) {
      IOException e = assertThrows(IOException.class, () -> store.read("v", 10, new byte[BS]));
      assertTrue(e.getMessage().contains("block v/10"), e.getMessage());
      assertTrue(store.read("v", 11, new byte[BS]));
    }
  }

  @Test
  void readersRunConcurrentlyWithAWriter(Seed testSeed) throws Exception {
    long seed = testSeed.value();
    int n = 256;
    int versions = 4;
    try (BlockStore store = BlockStore.open(dir, new BlockStoreSettings(1 << 20, true, 32))) {
      store.registerVolume("v", (long) n * BS, BS);
      AtomicBoolean done = new AtomicBoolean();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      List<Thread> readers = new ArrayList<>();
      for (int r = 0; r < 4; r++) {
        Random random = new Random(seed + r);
        Thread t =
            new Thread(
                () -> {
                  byte[] dst = new byte[BS];
                  try {
                    while (!done.get()) {
                      int i = random.nextInt(n);
                      if (store.read("v", i, dst)) {
                        int index = (dst[0] & 0xFF) | (dst[1] & 0xFF) << 8;
                        int version = dst[2];
                        if (index != i || version < 0 || version >= versions) {
                          throw new AssertionError("block " + i + " read as " + index + "/" + version);
                        }
                        assertArrayEquals(versioned(i, version), dst, "block " + i);
                      }
                    }
                  } catch (Throwable e) {
                    failures.add(e);
                  }
                });
        t.start();
        readers.add(t);
      }
      for (int v = 0; v < versions; v++) {
        for (int i = 0; i < n; i++) {
          byte[] block = versioned(i, v);
          store.put("v", i, sha(block), block, 0, BS, false);
        }
      }
      done.set(true);
      for (Thread t : readers) {
        t.join();
      }
      assertTrue(failures.isEmpty(), "seed=" + seed + " " + failures);
      assertEquals((long) n * versions, store.stats().blocksStored());
    }
  }

  private static byte[] versioned(int index, int version) {
    byte[] block = (version % 2 == 0) ? random(BS, new Random(index * 31L + version)) : text(BS, index * 31 + version);
    block[0] = (byte) index;
    block[1] = (byte) (index >> 8);
    block[2] = (byte) version;
    return block;
  }

  static byte[] text(int length, int seed) {
    Random random = new Random(seed);
    String[] words = {"block", "volume", "ferry", "migration", "target", "source", "the", "of", "and", "segment"};
    StringBuilder sb = new StringBuilder(length + 16);
    while (sb.length() < length) {
      sb.append(words[random.nextInt(words.length)]).append(random.nextInt(10) == 0 ? ".\n" : " ");
    }
    return sb.substring(0, length).getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] random(int length, Random random) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }

  static byte[] sha(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void copyDir(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    Set<String> skip = new HashSet<>(List.of("LOCK"));
    try (var files = Files.list(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (!skip.contains(p.getFileName().toString())) {
          Files.copy(p, to.resolve(p.getFileName()));
        }
      }
    }
  }

  private static void truncate(Path file, long size) throws IOException {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
      c.truncate(size);
    }
  }

  private static void flipBit(Path file, long offset) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      int b = f.read();
      f.seek(offset);
      f.write(b ^ 0x10);
    }
  }
}
