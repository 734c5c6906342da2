package io.ferry.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.VolumeAction;
import io.ferry.api.VolumePhase;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.blocks.WritePolicy;
import io.ferry.placement.Site;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.Ext4Images;
import io.ferry.transport.nbd.NbdClient;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The end of a volume's life through the real shells (three members in one JVM, the emulated WAN of
 * {@code bench-volume} on the block link and the control messages):
 *
 * <ul>
 *   <li><b>write-back</b>: a database-log-like workload writes through the target's NBD export
 *       (each commit rewrites the WAL's current 8 KiB page until it is full, and a share of commits
 *       also writes a data page drawn from a skewed hot set). Every write carries a counter in its
 *       first bytes; a reader polls the source image and records, per acknowledged write, how long
 *       it was acknowledged and not yet at the source (a newer version of its block counts). Prints
 *       p50/p99/max of that age against the configured RPO, and the block bytes shipped against
 *       shipping every write.
 *   <li><b>reverse</b>: after the cut-over, 5 % of the volume's blocks are rewritten at the target;
 *       the reverse ships them back. Prints block bytes shipped ÷ volume size and checks the source
 *       then equals every acknowledged write.
 *   <li><b>pacing</b>: the background copy with the backend's window counted in blocks (as before)
 *       against the window in bytes plus the turnaround, in one cluster, taking turns.
 * </ul>
 */
final class VolumeEndBench {
  /** The database's page and the volume's block: a page write is one whole block. */
  private static final int PAGE = 8 * 1024;
  private static final int COMMIT_RECORD = 256;

  private VolumeEndBench() {}

  /** What one run measured, for the summary table. */
  record WriteBack(long writes, long distinctBlocks, long shippedBlocks, long shipments, double p50Ms, double p99Ms, double maxMs, long rpoMs, long untilAllAtSourceMs) {
    double saved() {
      return writes == 0 ? 0 : 1.0 - (double) shippedBlocks / writes;
    }
  }

  record Reverse(long volumeBytes, long blocksChanged, long blocksShipped, int blockSize, boolean sourceEqual) {
    double ratio() {
      return (double) blocksShipped * blockSize / volumeBytes;
    }
  }

  static Config cluster(int rttMs, long mbit, long rpoMs) {
    return ConfigFactory.parseString(
        "ferry.blocks.emulate { one-way-delay = " + (rttMs / 2.0) + "ms, bandwidth = \"" + mbit + " Mbit\" }\n"
            + "ferry.blocks.link { rtt = " + rttMs + "ms, bandwidth = \"" + mbit + " Mbit\" }\n"
            + "ferry.blocks.changes { rpo = " + rpoMs + "ms, cut-over-threshold-blocks = 8 }\n"
            + "ferry.http.enabled = off\n");
  }

  static LocalCluster start(Path dir, Config config) {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge");
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    return LocalCluster.start(dir, sites, config, Duration.ofSeconds(90));
  }

  /**
   * Runs the database-like workload for {@code seconds} at {@code commitsPerSecond} through the
   * export of a write-back volume of {@code sizeMiB}, then waits until the source holds every write.
   */
  static WriteBack writeBack(LocalCluster c, Path dir, int sizeMiB, int seconds, int commitsPerSecond, long rpoMs, long seed) throws Exception {
    Ferry ferry = c.any().ferry();
    Path image = dir.resolve("wb.img");
    randomImage(image, sizeMiB, seed);
    VolumeSpec spec = new VolumeSpec(new VolumeId("wb"), Site.of("edge-a"), image.toString(), Site.of("cloud"), PAGE, "", WritePolicy.WRITE_BACK);
    ferry.startVolume(spec).toCompletableFuture().get(60, TimeUnit.SECONDS);
    VolumeStatus copied = await(ferry, "wb", Duration.ofMinutes(10), VolumeStatus::copied, "copied");
    long pages = (long) sizeMiB * (1 << 20) / PAGE;
    // The layout of a small database: the WAL in the first eighth (a ring), data pages after it.
    long walPages = pages / 8;
    long dataPages = pages - walPages;
    long hotPages = Math.max(16, dataPages / 50);
    Random r = new Random(seed);
    Map<Long, ArrayDeque<long[]>> outstanding = new HashMap<>();
    List<Double> ages = Collections.synchronizedList(new ArrayList<>());
    Thread reader = sourceReader(image, outstanding, ages);
    long writes = 0;
    Set<Long> distinct = new HashSet<>();
    long counter = 0;
    long walPage = 0;
    int inPage = 0;
    try (NbdClient nbd = NbdClient.connect(host(copied.nbdUrl()), port(copied.nbdUrl()), "wb", Duration.ofSeconds(30))) {
      reader.start();
      long t0 = System.nanoTime();
      long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
      long periodNanos = TimeUnit.SECONDS.toNanos(1) / commitsPerSecond;
      for (long i = 0; System.nanoTime() < end; i++) {
        long due = t0 + i * periodNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        // The commit: its record appended to the WAL's current page, which is written whole.
        write(nbd, walPage % walPages, ++counter, outstanding);
        writes++;
        distinct.add(walPage % walPages);
        if (++inPage == PAGE / COMMIT_RECORD) {
          inPage = 0;
          walPage++;
        }
        // A quarter of commits also write back a dirty data page: 90 % from the hot 2 %.
        if (r.nextInt(4) == 0) {
          long page = walPages + (r.nextInt(10) < 9 ? (long) (r.nextDouble() * hotPages) : (long) (r.nextDouble() * dataPages));
          write(nbd, page, ++counter, outstanding);
          writes++;
          distinct.add(page);
        }
      }
      nbd.flush();
    }
    long drainStart = System.nanoTime();
    while (true) {
      synchronized (outstanding) {
        if (outstanding.isEmpty()) {
          break;
        }
      }
      if (System.nanoTime() - drainStart > TimeUnit.MILLISECONDS.toNanos(rpoMs * 4 + 120_000)) {
        throw new IllegalStateException("write-back: the source still lacks writes after " + (rpoMs * 4 + 120_000) + " ms: " + outstanding.size() + " blocks");
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
    long untilAll = (System.nanoTime() - drainStart) / 1_000_000;
    reader.interrupt();
    reader.join();
    VolumeStatus.Changes ch = status(ferry, "wb").changes().orElseThrow();
    List<Double> sorted = new ArrayList<>(ages);
    Collections.sort(sorted);
    WriteBack wb = new WriteBack(writes, distinct.size(), ch.shippedBlocks(), ch.shipments(), pct(sorted, 0.50), pct(sorted, 0.99), sorted.get(sorted.size() - 1), rpoMs, untilAll);
    System.out.printf("write-back: %d writes (%d distinct pages) in %d s at %d commits/s; ages at the source measured for %d; shipped %d blocks in %d shipments; %s%n",
        writes, distinct.size(), seconds, commitsPerSecond, sorted.size(), ch.shippedBlocks(), ch.shipments(), ch);
    return wb;
  }

  /** Cuts a copied volume over, rewrites {@code share} of its blocks at the target, reverses it. */
  static Reverse reverse(LocalCluster c, Path dir, int sizeMiB, int blockSize, double share, long seed) throws Exception {
    Ferry ferry = c.any().ferry();
    Path image = dir.resolve("rev.img");
    randomImage(image, sizeMiB, seed + 1);
    byte[] expected = Files.readAllBytes(image);
    VolumeId id = new VolumeId("rev");
    ferry.startVolume(new VolumeSpec(id, Site.of("edge-a"), image.toString(), Site.of("cloud"), blockSize, "")).toCompletableFuture().get(60, TimeUnit.SECONDS);
    await(ferry, "rev", Duration.ofMinutes(10), VolumeStatus::copied, "copied");
    ferry.controlVolume(id, VolumeAction.CUTOVER).toCompletableFuture().get(60, TimeUnit.SECONDS);
    VolumeStatus over = await(ferry, "rev", Duration.ofMinutes(5), st -> st.phase() == VolumePhase.CUT_OVER && st.targetIsPrimary(), "cut over");
    long blocks = expected.length / blockSize;
    List<Long> all = new ArrayList<>();
    for (long b = 0; b < blocks; b++) {
      all.add(b);
    }
    Collections.shuffle(all, new Random(seed));
    List<Long> changed = all.subList(0, (int) Math.round(blocks * share));
    Random r = new Random(seed + 2);
    try (NbdClient nbd = NbdClient.connect(host(over.nbdUrl()), port(over.nbdUrl()), "rev", Duration.ofSeconds(30))) {
      for (long b : changed) {
        byte[] data = new byte[blockSize];
        r.nextBytes(data);
        nbd.write(b * blockSize, data);
        System.arraycopy(data, 0, expected, (int) (b * blockSize), blockSize);
      }
      nbd.flush();
    }
    long before = status(ferry, "rev").changes().orElseThrow().shippedBlocks();
    ferry.controlVolume(id, VolumeAction.REVERSE).toCompletableFuture().get(60, TimeUnit.SECONDS);
    VolumeStatus reversed = await(ferry, "rev", Duration.ofMinutes(5), st -> st.phase() == VolumePhase.REVERSED, "reversed");
    long shipped = reversed.changes().orElseThrow().shippedBlocks() - before;
    boolean equal = Arrays.equals(Files.readAllBytes(image), expected);
    System.out.printf("reverse: %d of %d blocks changed after the cut-over; the reverse shipped %d blocks; source equal to every acknowledged write: %s; %s%n",
        changed.size(), blocks, shipped, equal, reversed.changes().orElseThrow());
    return new Reverse(expected.length, changed.size(), shipped, blockSize, equal);
  }

  /** One background copy of the pacing comparison. */
  record Copy(String window, long wireBytes, double seconds, double linkSeconds) {
    double ratio() {
      return seconds / linkSeconds;
    }
  }

  /**
   * The background copy's pacing, old window against new in one cluster: two source members at
   * their own sites, one with the window counted in blocks only (credits-max 4, no turnaround:
   * what the backend did before) and one with the defaults (bytes, plus the turnaround), take
   * turns (ABBA, so a load that rises or falls through the run favours neither) copying distinct
   * half-empty ext4 images to the same target member. Each copy's time from its first byte to every
   * block present, per the time its bytes need at link rate: the compressible blocks, few bytes
   * and many frames, are where a window counted in blocks loses time.
   */
  static List<Copy> pacing(Path dir, int rttMs, long mbit, int imageMiB, int rounds) throws Exception {
    Config common = cluster(rttMs, mbit, 30_000);
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge");
    sites.put("cloud", "cloud");
    List<Copy> out = new ArrayList<>();
    try (LocalCluster c = LocalCluster.start(dir.resolve("pacing"), sites, common, Duration.ofSeconds(90))) {
      c.startMember("edge-a", "edge", ConfigFactory.parseString("ferry.blocks.background { credits-max = 4, turnaround = 0ms }"));
      c.startMember("edge-c", "edge", ConfigFactory.empty());
      c.awaitAllUp(Duration.ofSeconds(90));
      Ferry ferry = c.any().ferry();
      for (int i = 0; i < 2 * rounds; i++) {
        boolean old = i % 4 == 0 || i % 4 == 3;
        Path tree = dir.resolve("pacing-tree-" + i);
        Ext4Images.template(tree, 100 + i, (long) imageMiB << 19);
        Path image = Ext4Images.ext4(tree, dir.resolve("pacing-" + i + ".img"), imageMiB);
        String volume = "pace-" + i;
        ferry.startVolume(new VolumeSpec(new VolumeId(volume), Site.of(old ? "edge-a" : "edge-c"), image.toString(), Site.of("cloud"), 64 * 1024, ""))
            .toCompletableFuture().get(60, TimeUnit.SECONDS);
        List<long[]> samples = new ArrayList<>();
        long t0 = System.nanoTime();
        // Polled every 100 ms: the first byte is known to a tenth of a second.
        VolumeStatus done = await(ferry, volume, Duration.ofMinutes(20), st -> {
          long wire = st.backend().map(b -> b.bytesSent().values().stream().mapToLong(Long::longValue).sum()).orElse(0L);
          samples.add(new long[] {System.nanoTime(), wire});
          return st.copied();
        }, "copied");
        long total = done.backend().map(b -> b.bytesSent().values().stream().mapToLong(Long::longValue).sum()).orElse(0L);
        long end = System.nanoTime();
        long first = samples.stream().filter(x -> x[1] > 0).findFirst().map(x -> x[0]).orElse(t0);
        Copy copy = new Copy(old ? "blocks (before)" : "bytes + turnaround", total, (end - first) / 1e9, total * 8.0 / (mbit * 1e6));
        System.out.printf("pacing: %s copied from %s: %s; %s%n", volume, old ? "edge-a" : "edge-c", copy, VolumeRestartBench.load());
        out.add(copy);
      }
    }
    return out;
  }

  private static void write(NbdClient nbd, long page, long counter, Map<Long, ArrayDeque<long[]>> outstanding) throws IOException {
    byte[] data = new byte[PAGE];
    ByteBuffer.wrap(data).putLong(counter).putLong(~counter);
    Arrays.fill(data, 16, PAGE, (byte) counter);
    nbd.write(page * PAGE, data);
    long acked = System.nanoTime();
    synchronized (outstanding) {
      outstanding.computeIfAbsent(page, p -> new ArrayDeque<>()).add(new long[] {counter, acked});
    }
  }

  /**
   * Polls the source image for the pages with writes outstanding: a page whose counter at the
   * source is at least a write's counter holds that write or a newer one, so the write has arrived.
   */
  private static Thread sourceReader(Path image, Map<Long, ArrayDeque<long[]>> outstanding, List<Double> ages) {
    Thread t = new Thread(() -> {
      byte[] head = new byte[16];
      try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
        while (!Thread.currentThread().isInterrupted()) {
          List<Long> pages;
          synchronized (outstanding) {
            pages = new ArrayList<>(outstanding.keySet());
          }
          for (long page : pages) {
            f.seek(page * PAGE);
            f.readFully(head);
            ByteBuffer h = ByteBuffer.wrap(head);
            long at = h.getLong();
            if (h.getLong() != ~at) {
              continue; // not one of ours yet (the original image) or torn mid-write
            }
            long now = System.nanoTime();
            synchronized (outstanding) {
              ArrayDeque<long[]> q = outstanding.get(page);
              while (q != null && !q.isEmpty() && q.peek()[0] <= at) {
                ages.add((now - q.poll()[1]) / 1e6);
              }
              if (q != null && q.isEmpty()) {
                outstanding.remove(page);
              }
            }
          }
          Thread.sleep(10);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        throw new IllegalStateException("reading the source image", e);
      }
    }, "source-reader");
    t.setDaemon(true);
    return t;
  }

  static void randomImage(Path image, int sizeMiB, long seed) throws IOException {
    byte[] data = new byte[sizeMiB << 20];
    new Random(seed).nextBytes(data);
    Files.write(image, data);
  }

  static double pct(List<Double> sorted, double q) {
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * q) - 1));
  }

  static String host(String nbdUrl) {
    String hostPort = nbdUrl.substring("nbd://".length(), nbdUrl.lastIndexOf('/'));
    return hostPort.substring(0, hostPort.lastIndexOf(':'));
  }

  static int port(String nbdUrl) {
    String hostPort = nbdUrl.substring("nbd://".length(), nbdUrl.lastIndexOf('/'));
    return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
  }

  static VolumeStatus status(Ferry ferry, String volume) throws Exception {
    return ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  static VolumeStatus await(Ferry ferry, String volume, Duration timeout, Predicate<VolumeStatus> done, String what) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    VolumeStatus st = null;
    while (System.nanoTime() < deadline) {
      try {
        st = status(ferry, volume);
        if (done.test(st) && !st.nbdUrl().isEmpty()) {
          return st;
        }
      } catch (ExecutionException e) {
        // not placed yet, or a half not answering: ask again
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    throw new IllegalStateException("volume " + volume + " not " + what + " within " + timeout + ": " + st);
  }
}
