package io.ferry.persistence.blocks;

import static io.ferry.persistence.blocks.BlockStoreTest.random;
import static io.ferry.persistence.blocks.BlockStoreTest.sha;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Store reclaim: blocks no volume maps (overwritten, volume deleted) are collected and the store
 * compacted while it serves; a crash at every step of it (the directory as that step left it on
 * disk, with the file being written torn at a random length) recovers to the same volumes.
 */
@ExtendWith(SeedExtension.class)
class BlockStoreReclaimTest {

  /** 64 KiB random blocks in 1 MiB segments: 15 blocks a segment, so the test spans many. */
  private static final int BS = 64 * 1024;
  private static final BlockStoreSettings SMALL_SEGMENTS = new BlockStoreSettings(1L << 20, true, 8);
  /** The crash test reopens the store some 25 times: CRC32C checks suffice there, SHA-256 is slow. */
  private static final BlockStoreSettings SMALL_SEGMENTS_FAST = new BlockStoreSettings(1L << 20, false, 0);
  private static final int A = 96;
  private static final int B = 48;

  @TempDir Path dir;

  /** Volume contents as the test expects them: (volume, index) → bytes; null = zero block. */
  private final Map<String, byte[][]> expected = new HashMap<>();

  /**
   * Volume a (96 blocks) and b (48, the first 12 the same as a's first 12); then 40 of a's blocks
   * overwritten by local writes, 4 written as zeros, and b deleted.
   */
  private List<byte[]> fill(BlockStore store, Random random) throws IOException {
    List<byte[]> garbage = new ArrayList<>();
    store.registerVolume("a", (long) A * BS, BS);
    store.registerVolume("b", (long) B * BS, BS);
    byte[][] a = new byte[A][];
    for (int i = 0; i < A; i++) {
      a[i] = random(BS, random);
      store.put("a", i, sha(a[i]), a[i], 0, BS, false);
    }
    for (int i = 0; i < B; i++) {
      byte[] block = i < 12 ? a[i] : random(BS, random);
      store.put("b", i, sha(block), block, 0, BS, false);
      if (i >= 12) {
        garbage.add(block);
      }
    }
    for (int i = 0; i < 40; i++) {
      int index = 6 + 2 * i;
      garbage.add(a[index]);
      a[index] = random(BS, random);
      store.put("a", index, sha(a[index]), a[index], 0, BS, true);
    }
    for (int index : new int[] {1, 3, 5, 7}) {
      garbage.add(a[index]);
      a[index] = null;
      store.putZero("a", index, true);
    }
    store.deleteVolume("b");
    expected.put("a", a);
    return garbage;
  }

  private void assertVolumes(BlockStore store, String context) throws IOException {
    byte[] dst = new byte[BS];
    for (var e : expected.entrySet()) {
      byte[][] blocks = e.getValue();
      for (int i = 0; i < blocks.length; i++) {
        assertTrue(store.read(e.getKey(), i, dst), context + ": " + e.getKey() + "/" + i + " present");
        assertArrayEquals(blocks[i] == null ? new byte[BS] : blocks[i], dst, context + ": " + e.getKey() + "/" + i);
      }
    }
    assertTrue(store.lookup("b", 0).isEmpty(), context + ": b stays deleted");
  }

  @Test
  void overwrittenAndDeletedBlocksAreCollectedAndTheStoreShrinks(Seed seed) throws IOException {
    Random random = seed.random();
    Path path = dir.resolve("s");
    List<byte[]> garbage;
    long diskBefore;
    long diskAfter;
    try (BlockStore store = BlockStore.open(path, SMALL_SEGMENTS)) {
      garbage = fill(store, random);
      StoreStats before = store.stats();
      diskBefore = before.bytesOnDisk();
      assertEquals(A + B - 12 + 40, before.blocksStored(), "nothing collected yet");
      Reclaimed r = store.reclaim(0.25);
      StoreStats after = store.stats();
      diskAfter = after.bytesOnDisk();
      assertTrue(r.segmentsRewritten() >= 3, "" + r);
      assertTrue(r.indexBytesFreed() > 0, "overwritten and deleted entries leave the index log: " + r);
      assertEquals(before.blocksStored() - r.blocksRemoved(), after.blocksStored());
      assertEquals(before.bytesOnDisk() - r.dataBytesFreed() - r.indexBytesFreed(), after.bytesOnDisk());
      long inActive = garbage.stream().filter(g -> store.hasHash(sha(g))).count();
      assertEquals(garbage.size() - r.blocksRemoved(), inActive, "only garbage was removed");
      assertTrue(inActive <= 15, "what stays is in the active segment or a sealed one below the ratio: " + inActive);
      assertTrue(r.dataBytesFreed() >= (garbage.size() - 30L) * BS, r + " of " + garbage.size() + " garbage blocks");
      assertVolumes(store, "after reclaim");
      // A reclaimed block put again is stored again, and the store takes writes as before.
      byte[] back = garbage.get(0);
      assertEquals(!store.hasHash(sha(back)), store.put("a", 0, sha(back), back, 0, BS, true));
      expected.get("a")[0] = back;
      assertVolumes(store, "after a write");
      Reclaimed again = store.reclaim(0.25);
      assertVolumes(store, "after a second reclaim " + again);
    }
    try (BlockStore store = BlockStore.open(path, SMALL_SEGMENTS)) {
      assertVolumes(store, "reopened");
      assertTrue(store.stats().bytesOnDisk() <= diskAfter + 2 * BS, "stays small: " + store.stats().bytesOnDisk() + " after reclaim " + diskAfter + ", before " + diskBefore);
    }
    System.out.printf("reclaim: %d -> %d bytes on disk%n", diskBefore, diskAfter);
  }

  @Test
  void aCrashAtAnyStepOfReclaimRecoversTheSameVolumes(Seed seed) throws IOException {
    Random random = seed.random();
    Path path = dir.resolve("s");
    List<String> steps = new ArrayList<>();
    try (BlockStore store = BlockStore.open(path, SMALL_SEGMENTS_FAST)) {
      fill(store, random);
      store.reclaim(0.25, step -> {
        steps.add(step);
        Path copy = dir.resolve("crash-" + steps.size());
        try {
          copyDir(path, copy);
          // The file being written when the crash hits is torn anywhere.
          try (var files = Files.list(copy)) {
            for (Path p : (Iterable<Path>) files::iterator) {
              if (p.getFileName().toString().endsWith(".compact") && random.nextBoolean()) {
                truncate(p, (long) (random.nextDouble() * Files.size(p)));
              }
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
    assertTrue(steps.contains("index-renamed") && steps.stream().filter(s -> s.endsWith("-renamed")).count() >= 4, "every step seen: " + steps);
    for (int i = 1; i <= steps.size(); i++) {
      Path copy = dir.resolve("crash-" + i);
      String context = seed + " crash after " + steps.get(i - 1);
      try (BlockStore store = BlockStore.open(copy, SMALL_SEGMENTS_FAST)) {
        assertVolumes(store, context);
        try (var files = Files.list(copy)) {
          assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".compact")), context + ": leftovers removed");
        }
        // Reclaim finishes after the restart, and the result reopens the same.
        store.reclaim(0.25);
        assertVolumes(store, context + ", reclaimed again");
      }
      try (BlockStore store = BlockStore.open(copy, SMALL_SEGMENTS_FAST)) {
        assertVolumes(store, context + ", reopened");
      }
    }
  }

  @Test
  void readsGoOnWhileTheStoreIsCompacted(Seed seed) throws Exception {
    Random random = seed.random();
    try (BlockStore store = BlockStore.open(dir.resolve("s"), SMALL_SEGMENTS)) {
      fill(store, random);
      byte[][] a = expected.get("a");
      AtomicBoolean done = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      int[] reads = {0};
      Thread reader = new Thread(() -> {
        byte[] dst = new byte[BS];
        Random r = new Random(seed.value());
        try {
          while (!done.get()) {
            int i = r.nextInt(A);
            if (!store.read("a", i, dst) || !java.util.Arrays.equals(a[i] == null ? new byte[BS] : a[i], dst)) {
              throw new AssertionError("block a/" + i + " read wrong during reclaim");
            }
            reads[0]++;
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      reader.start();
      for (int round = 0; round < 3; round++) {
        store.reclaim(0.1);
      }
      done.set(true);
      reader.join();
      if (failure.get() != null) {
        throw new AssertionError(seed + ": " + failure.get(), failure.get());
      }
      assertTrue(reads[0] > 0);
    }
  }

  private static void copyDir(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (!p.getFileName().toString().equals("LOCK")) {
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
}
