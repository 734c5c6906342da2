package io.ferry.bench;

import io.ferry.persistence.Sha256;
import io.ferry.persistence.blocks.BlockStore;
import io.ferry.persistence.blocks.BlockStoreSettings;
import io.ferry.persistence.blocks.StoreStats;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Rough put/read throughput and compression ratio of the block store for a text-like and a random
 * workload. Not a JMH benchmark: a quick figure for a developer's machine.
 *
 * <p>Usage: {@code BlockStoreBench [blocks] [blockSizeBytes] [dir]} (defaults 4096, 65536, a temp
 * directory that is deleted afterwards).
 */
public final class BlockStoreBench {

  private BlockStoreBench() {}

  public static void main(String[] args) throws Exception {
    int blocks = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
    int blockSize = args.length > 1 ? Integer.parseInt(args[1]) : 65536;
    Path base = args.length > 2 ? Path.of(args[2]) : Files.createTempDirectory("ferry-blockstore-bench");
    try {
      for (String workload : new String[] {"text", "random"}) {
        run(base.resolve(workload), workload, blocks, blockSize);
      }
    } finally {
      if (args.length <= 2) {
        try (Stream<Path> files = Files.walk(base)) {
          files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  private static void run(Path dir, String workload, int blocks, int blockSize) throws Exception {
    Random random = new Random(42);
    byte[][] data = new byte[blocks][];
    byte[][] hashes = new byte[blocks][];
    MessageDigest sha = Sha256.create();
    for (int i = 0; i < blocks; i++) {
      data[i] = workload.equals("text") ? text(blockSize, random) : bytes(blockSize, random);
      hashes[i] = sha.digest(data[i]);
    }
    long bytes = (long) blocks * blockSize;
    BlockStoreSettings settings = new BlockStoreSettings(256L << 20, false, 0);
    try (BlockStore store = BlockStore.open(dir, settings)) {
      store.registerVolume("bench", bytes, blockSize);
      long start = System.nanoTime();
      for (int i = 0; i < blocks; i++) {
        store.put("bench", i, hashes[i], data[i], 0, blockSize, false);
      }
      store.sync();
      double putSeconds = (System.nanoTime() - start) / 1e9;
      byte[] dst = new byte[blockSize];
      start = System.nanoTime();
      for (int i = 0; i < blocks; i++) {
        if (!store.read("bench", i, dst)) {
          throw new IllegalStateException("block " + i + " missing");
        }
      }
      double readSeconds = (System.nanoTime() - start) / 1e9;
      StoreStats stats = store.stats();
      System.out.printf(
          "%-6s blocks=%d blockSize=%d put=%.0f MB/s (incl. sync) read=%.0f MB/s "
              + "logical=%d onDisk=%d ratio=%.2f%n",
          workload, blocks, blockSize, bytes / putSeconds / 1e6, bytes / readSeconds / 1e6,
          stats.logicalBytesStored(), stats.bytesOnDisk(),
          (double) stats.logicalBytesStored() / stats.bytesOnDisk());
    }
    long start = System.nanoTime();
    try (BlockStore store = BlockStore.open(dir, settings)) {
      System.out.printf(
          "%-6s reopen=%.0f ms blocks=%d%n",
          workload, (System.nanoTime() - start) / 1e6, store.stats().blocksStored());
    }
  }

  private static byte[] text(int length, Random random) {
    String[] words = {"block", "volume", "ferry", "migration", "target", "source", "the", "of", "and", "segment", "kernel", "initrd"};
    StringBuilder sb = new StringBuilder(length + 16);
    while (sb.length() < length) {
      sb.append(words[random.nextInt(words.length)]);
      sb.append(random.nextInt(12) == 0 ? ".\n" : " ");
      if (random.nextInt(20) == 0) {
        sb.append(random.nextInt(100000));
      }
    }
    return sb.substring(0, length).getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] bytes(int length, Random random) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }
}
