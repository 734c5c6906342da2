package io.ferry.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.Ext4Images;
import io.ferry.transport.nbd.FileExport;
import io.ferry.transport.nbd.NbdClient;
import io.ferry.transport.nbd.NbdServer;
import io.ferry.transport.nbd.NbdServerSettings;
import io.ferry.transport.shaping.LinkProfile;
import io.ferry.transport.shaping.TcpLinkEmulator;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Volume migration over an emulated WAN (delay and bandwidth on the Aeron block link and on the
 * control messages), side by side with the full-copy-first baseline: {@code nbdcopy} of the whole
 * image over a TCP link with the same delay and bandwidth before the first read. Prints time to
 * first byte, on-demand read latency idle and under a saturating background copy, bytes on the wire
 * per logical byte for a half-empty ext4 image and for a second image of the same template, and
 * background throughput per shaped bandwidth.
 *
 * <p>Usage: {@code ferry bench-volume [sizeMiB=256] [rttMs=50] [mbit=100] [reads=100]}
 */
public final class VolumeBench {

  private static final int BLOCK = 64 * 1024;

  private VolumeBench() {}

  public static void main(String[] args) throws Exception {
    int sizeMiB = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    int rttMs = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    long mbit = args.length > 2 ? Long.parseLong(args[2]) : 100;
    int reads = args.length > 3 ? Integer.parseInt(args[3]) : 100;
    long bits = mbit * 1_000_000L;
    Path base = Files.createTempDirectory("ferry-volume-bench");
    System.out.printf("ferry volume benchmark: %d MiB ext4 images (about half empty), emulated link %d ms RTT, %d Mbit/s, blocks of %d KiB; work dir %s%n",
        sizeMiB, rttMs, mbit, BLOCK / 1024, base);

    Path tree = base.resolve("tree");
    Ext4Images.template(tree, 7, (long) sizeMiB << 19); // about half the image
    Path image1 = Ext4Images.ext4(tree, base.resolve("vol-1.img"), sizeMiB);
    Ext4Images.changeAFew(tree, 8);
    Path image2 = Ext4Images.ext4(tree, base.resolve("vol-2.img"), sizeMiB);
    long logical = Files.size(image1);
    List<Long> dataBlocks = nonZeroBlocks(image1);
    System.out.printf("images built: %d bytes each, %d of %d blocks hold data%n", logical, dataBlocks.size(), logical / BLOCK);

    LinkProfile wan = LinkProfile.wan(Duration.ofMillis(rttMs), bits, 0.0, 1);
    Baseline baseline = baseline(image1, base.resolve("baseline-copy.img"), wan);

    Config common =
        ConfigFactory.parseString(
            "ferry.blocks.emulate { one-way-delay = " + (rttMs / 2.0) + "ms, bandwidth = \"" + mbit + " Mbit\" }\n"
                + "ferry.blocks.link { rtt = " + rttMs + "ms, bandwidth = \"" + mbit + " Mbit\" }\n"
                + "ferry.http.enabled = off\n");

    // 1. On-demand only (background off): time to first byte and idle on-demand latency.
    Measured idle;
    try (LocalCluster c = cluster(base.resolve("idle"), ConfigFactory.parseString("ferry.blocks.background.enabled = off").withFallback(common))) {
      // One unmeasured migration first, so the figures are of a warm member, not of class loading
      // and the journal's first queries.
      Path warm = base.resolve("warm-up.img");
      byte[] noise = new byte[8 << 20];
      new Random(3).nextBytes(noise);
      Files.write(warm, noise);
      onDemand(c, "warm-up", warm, List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L), 4, 3);
      idle = onDemand(c, "vol-idle", image1, dataBlocks, reads, 1);
    }
    // 2. Background on: on-demand latency while the background copy fills the link.
    Measured loaded;
    try (LocalCluster c = cluster(base.resolve("loaded"), common)) {
      onDemand(c, "warm-up", base.resolve("warm-up.img"), List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L), 4, 3);
      loaded = onDemand(c, "vol-1", image1, dataBlocks, reads, 2);
    }
    // 3. The background copy alone: throughput over the middle 80 % of its bytes, bytes on the
    //    wire for the image, then for a second image of the same template.
    double throughputRatio;
    double wire1;
    double wire2;
    try (LocalCluster c = cluster(base.resolve("copy"), common)) {
      Ferry ferry = c.any().ferry();
      ferry.startVolume(new VolumeSpec(new VolumeId("vol-1"), "edge-a", image1.toString(), "cloud", BLOCK, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
      List<long[]> samples = new ArrayList<>();
      VolumeStatus done = awaitCopied(ferry, "vol-1", Duration.ofMinutes(30), st -> samples.add(new long[] {System.nanoTime(), wireBytes(st)}));
      long total = wireBytes(done);
      samples.add(new long[] {System.nanoTime(), total});
      long[] from = samples.stream().filter(x -> x[1] >= total / 10).findFirst().orElseThrow();
      long[] to = samples.stream().filter(x -> x[1] >= total * 9 / 10).findFirst().orElseThrow();
      throughputRatio = to[0] == from[0] ? 0 : (to[1] - from[1]) * 8.0 / ((to[0] - from[0]) / 1e9) / bits;
      wire1 = (double) total / logical;
      System.out.printf("vol-1 copied: %s; background %.1f Mbit/s over the middle 80 %% of its bytes%n",
          done.backend().map(VolumeStatus.Backend::framesSent).orElse(Map.of()), throughputRatio * mbit);
      ferry.startVolume(new VolumeSpec(new VolumeId("vol-2"), "edge-a", image2.toString(), "cloud", BLOCK, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
      VolumeStatus two = awaitCopied(ferry, "vol-2", Duration.ofMinutes(30), st -> {});
      wire2 = (double) wireBytes(two) / Files.size(image2);
      System.out.printf("vol-2 copied: %s%n", two.backend().map(VolumeStatus.Backend::framesSent).orElse(Map.of()));
    }

    double rtt = rttMs;
    System.out.println();
    System.out.printf("%-52s %12s %14s %8s%n", "figure", "ferry", "full-copy", "ratio");
    System.out.printf("%-52s %10.1f ms %12.1f ms %7.1fx   (goal <= 2 RTT + 10 ms = %.0f ms)%n", "time to first byte at the target",
        idle.firstByteMillis, baseline.firstByteMillis, baseline.firstByteMillis / idle.firstByteMillis, 2 * rtt + 10);
    System.out.printf("%-52s %10.1f ms %14s%n", "on-demand read p50, idle", idle.p50, "-");
    System.out.printf("%-52s %10.1f ms %14s%n", "on-demand read p99, idle", idle.p99, "-");
    System.out.printf("%-52s %10.1f ms %14s   (p99 loaded / idle = %.2f, goal <= 2)%n", "on-demand read p50, background saturating", loaded.p50, "-", loaded.p99 / idle.p99);
    System.out.printf("%-52s %10.1f ms %14s%n", "on-demand read p99, background saturating", loaded.p99, "-");
    System.out.printf("%-52s %12.3f %14.3f   (goal <= 0.5)%n", "bytes on the wire / logical, half-empty ext4", wire1, baseline.wireRatio);
    System.out.printf("%-52s %12.3f %14.3f   (goal <= 0.1)%n", "bytes on the wire / logical, 2nd image same template", wire2, baseline.wireRatio);
    System.out.printf("%-52s %12.2f %14.2f   (goal >= 0.9)%n", "background throughput / shaped bandwidth", throughputRatio, baseline.throughputRatio);
  }

  private record Baseline(double firstByteMillis, double wireRatio, double throughputRatio) {}

  private record Measured(double firstByteMillis, double p50, double p99) {}

  /** nbdcopy of the whole image from an NBD server at the source, over the emulated TCP link. */
  private static Baseline baseline(Path image, Path out, LinkProfile wan) throws Exception {
    try (FileExport export = FileExport.open("vol", image, true);
        NbdServer server = NbdServer.start(NbdServerSettings.defaults(), name -> name.equals("vol") ? Optional.of(export) : Optional.empty(), () -> List.of("vol"));
        TcpLinkEmulator link = TcpLinkEmulator.start("127.0.0.1", new InetSocketAddress("127.0.0.1", server.port()), wan)) {
      long t0 = System.nanoTime();
      Ext4Images.run(List.of("nbdcopy", "nbd://127.0.0.1:" + link.port() + "/vol", out.toString()));
      try (RandomAccessFile f = new RandomAccessFile(out.toFile(), "r")) {
        f.read(new byte[4096]);
      }
      double millis = (System.nanoTime() - t0) / 1e6;
      long logical = Files.size(image);
      double wire = (double) link.bytesForwarded() / logical;
      double throughput = link.bytesForwarded() * 8.0 / (millis / 1000) / wan.bandwidthBitsPerSecond();
      System.out.printf("baseline: nbdcopy of the whole image over the emulated link took %.0f ms (%d bytes through the link)%n", millis, link.bytesForwarded());
      return new Baseline(millis, wire, throughput);
    }
  }

  /**
   * Starts a migration, measures the time to the first byte read over NBD at the target, then
   * reads {@code reads} random data blocks the target does not hold yet, one at a time.
   */
  private static Measured onDemand(LocalCluster c, String volume, Path image, List<Long> dataBlocks, int reads, long seed) throws Exception {
    Ferry ferry = c.any().ferry();
    String nbdHost = "127.0.0.1";
    long t0 = System.nanoTime();
    ferry.startVolume(new VolumeSpec(new VolumeId(volume), "edge-a", image.toString(), "cloud", BLOCK, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
    double accepted = (System.nanoTime() - t0) / 1e6;
    int port = nbdPort(c, volume);
    double portKnown = (System.nanoTime() - t0) / 1e6;
    NbdClient client = null;
    while (client == null) {
      try {
        client = NbdClient.connect(nbdHost, port, volume, Duration.ofSeconds(30));
      } catch (IOException e) {
        if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) {
          throw e;
        }
        TimeUnit.MILLISECONDS.sleep(1);
      }
    }
    double exported = (System.nanoTime() - t0) / 1e6;
    try (NbdClient nbd = client) {
      nbd.read(0, 4096);
      double firstByte = (System.nanoTime() - t0) / 1e6;
      System.out.printf("%s: start accepted %.1f ms, export's port known %.1f ms, export open %.1f ms, first byte %.1f ms%n", volume, accepted, portKnown, exported, firstByte);
      // Reads from the top of the image: the background copy (ascending) reaches them last.
      List<Long> candidates = new ArrayList<>(dataBlocks.subList(dataBlocks.size() / 2, dataBlocks.size()));
      Collections.shuffle(candidates, new Random(seed));
      List<Double> latencies = new ArrayList<>();
      for (long b : candidates) {
        if (latencies.size() >= reads) {
          break;
        }
        long s = System.nanoTime();
        nbd.read(b * BLOCK + 512, 4096);
        latencies.add((System.nanoTime() - s) / 1e6);
      }
      Collections.sort(latencies);
      double p50 = latencies.get(latencies.size() / 2);
      double p99 = latencies.get(Math.min(latencies.size() - 1, (int) Math.ceil(latencies.size() * 0.99) - 1));
      System.out.printf("%s: first byte after %.1f ms; %d on-demand reads p50 %.1f ms p99 %.1f ms%n", volume, firstByte, latencies.size(), p50, p99);
      return new Measured(firstByte, p50, p99);
    }
  }

  private static int nbdPort(LocalCluster c, String volume) throws Exception {
    Ferry ferry = c.any().ferry();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (var v : ferry.volumes().toCompletableFuture().get(10, TimeUnit.SECONDS)) {
        if (!v.frontendMember().isEmpty() && v.spec().volume().value().equals(volume)) {
          VolumeStatus st = status(ferry, v.spec().volume().value());
          if (!st.nbdUrl().isEmpty()) {
            String hostPort = st.nbdUrl().substring("nbd://".length(), st.nbdUrl().lastIndexOf('/'));
            return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
          }
        }
      }
      TimeUnit.MILLISECONDS.sleep(1);
    }
    throw new IllegalStateException("no frontend came up within 60 s");
  }

  private static LocalCluster cluster(Path dir, Config overrides) {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("edge-b", "edge");
    sites.put("edge-a", "edge");
    sites.put("cloud", "cloud");
    LocalCluster c = LocalCluster.start(dir, sites, overrides, Duration.ofSeconds(60));
    return c;
  }

  private static VolumeStatus status(Ferry ferry, String volume) throws Exception {
    return ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static long wireBytes(VolumeStatus st) {
    return st.backend().map(b -> b.bytesSent().values().stream().mapToLong(Long::longValue).sum()).orElse(0L);
  }

  private static VolumeStatus awaitCopied(Ferry ferry, String volume, Duration timeout, java.util.function.Consumer<VolumeStatus> each) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      VolumeStatus st = status(ferry, volume);
      if (st.copied()) {
        return st;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("volume " + volume + " not copied within " + timeout + ": " + st);
      }
      each.accept(st);
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  /** Blocks of the image that are not all zeros (what a migration must move). */
  static List<Long> nonZeroBlocks(Path image) throws IOException {
    List<Long> out = new ArrayList<>();
    byte[] block = new byte[BLOCK];
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
      long blocks = f.length() / BLOCK;
      for (long b = 0; b < blocks; b++) {
        f.readFully(block);
        for (byte x : block) {
          if (x != 0) {
            out.add(b);
            break;
          }
        }
      }
    }
    return out;
  }
}
