package io.ferry.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.LocalCluster;
import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.BlockFrameEncoder;
import io.ferry.transport.frame.ChannelKeys;
import io.ferry.transport.frame.DecodeResult;
import io.ferry.transport.frame.FrameSealer;
import io.ferry.transport.frame.SealedFrame;
import io.ferry.transport.frame.SealedFrameDecoder;
import io.ferry.transport.nbd.NbdClient;
import org.agrona.concurrent.UnsafeBuffer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What security costs: block background throughput and on-demand read latency (p50/p99, read over
 * NBD while the background copy runs) with plain and with sealed (AES-256-GCM) block frames, on
 * loopback and on an emulated WAN link; and the move pause of a query node with members talking
 * plain TCP and mutual TLS. Figures, not a test.
 *
 * <p>Usage: {@code ferry bench-security [sizeMiB=128] [rttMs=20] [mbit=200] [reads=200] [moves=10] [rounds=3]};
 * run from the checkout (it makes certificates with scripts/dev-ca).
 */
public final class SecurityBench {
  private static final int BLOCK = 64 * 1024;

  private SecurityBench() {}

  public static void main(String[] args) throws Exception {
    int sizeMiB = args.length > 0 ? Integer.parseInt(args[0]) : 128;
    int rttMs = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    long mbit = args.length > 2 ? Long.parseLong(args[2]) : 200;
    int reads = args.length > 3 ? Integer.parseInt(args[3]) : 200;
    int moves = args.length > 4 ? Integer.parseInt(args[4]) : 10;
    int rounds = args.length > 5 ? Integer.parseInt(args[5]) : 3;
    // all, or only one part: links (the volume runs on loopback and the emulated link) or moves.
    String parts = args.length > 6 ? args[6] : "all";
    Path base = Files.createTempDirectory("ferry-security-bench");
    System.out.printf("ferry security benchmark: %d MiB of random data (every block sent as RAW), blocks of %d KiB, emulated link %d ms RTT %d Mbit/s,"
            + " %d rounds, the two sides of each comparison interleaved (their order alternates per round); work dir %s%n",
        sizeMiB, BLOCK / 1024, rttMs, mbit, rounds, base);
    long imageBytes = (long) sizeMiB << 20;
    List<double[]> codecRuns = new ArrayList<>();
    for (int round = 0; round < rounds; round++) {
      codecRuns.add(codec());
    }
    System.out.printf("codec, one thread, 64 KiB random blocks, %d rounds: plain %s MB/s, sealed %s MB/s%n", rounds,
        spread(codecRuns.stream().mapToDouble(r -> r[0] / 1e6).toArray()), spread(codecRuns.stream().mapToDouble(r -> r[1] / 1e6).toArray()));

    String emulated =
        "ferry.blocks.emulate { one-way-delay = " + (rttMs / 2.0) + "ms, bandwidth = \"" + mbit + " Mbit\" }\n"
            + "ferry.blocks.link { rtt = " + rttMs + "ms, bandwidth = \"" + mbit + " Mbit\" }\n";
    Map<String, String> links = new LinkedHashMap<>();
    links.put("loopback", "");
    links.put("emulated " + rttMs + "ms/" + mbit + "Mbit", emulated);
    for (Map.Entry<String, String> link : parts.equals("moves") ? Map.<String, String>of().entrySet() : links.entrySet()) {
      Map<String, List<double[]>> byMode = new LinkedHashMap<>();
      byMode.put("plain", new ArrayList<>());
      byMode.put("sealed", new ArrayList<>());
      List<Double> pairedLoss = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        List<String> order = round % 2 == 0 ? List.of("plain", "sealed") : List.of("sealed", "plain");
        for (String mode : order) {
          Config c = ConfigFactory.parseString(link.getValue() + "ferry.security.blocks.encrypt = " + (mode.equals("sealed") ? "on" : "off")
              + "\nferry.http.enabled = off\nferry.security.allow-insecure = on\npekko.loglevel = WARNING\n");
          Path dir = base.resolve(link.getKey().replace(' ', '-').replace('/', '-') + "-" + mode + "-" + round);
          // A warm-up volume first, then the measured one, in the same cluster.
          try (LocalCluster cluster = LocalCluster.start(dir, Map.of("cloud", "cloud", "edge-a", "edge"), c, Duration.ofSeconds(60))) {
            // Every volume its own random image: the target store dedups by hash, so a second
            // volume of the same image would cross as REF frames only.
            volume(cluster, image(dir.resolve("warm.img"), imageBytes, 1), "warm-" + mode, Math.min(reads, 20));
            double[] r = volume(cluster, image(dir.resolve("measured.img"), imageBytes, 2), "vol-" + mode, reads);
            byMode.get(mode).add(r);
            System.out.printf("round %d %-24s %-6s background %8.1f MB/s   on-demand read p50 %6.2f ms p99 %6.2f ms (%d reads, %d fetched, %d frames refused)%n",
                round + 1, link.getKey(), mode, r[0] / 1e6, r[1], r[2], reads, (long) r[3], (long) r[4]);
          }
        }
        pairedLoss.add(100 * (1 - byMode.get("sealed").get(round)[0] / byMode.get("plain").get(round)[0]));
      }
      for (String mode : byMode.keySet()) {
        List<double[]> runs = byMode.get(mode);
        System.out.printf("%-24s %-6s median (min..max) of %d: background %s MB/s, on-demand p99 %s ms, p50 %s ms%n", link.getKey(), mode, runs.size(),
            spread(runs.stream().mapToDouble(r -> r[0] / 1e6).toArray()), spread(runs.stream().mapToDouble(r -> r[2]).toArray()),
            spread(runs.stream().mapToDouble(r -> r[1]).toArray()));
      }
      double loss = 100 * (1 - median(byMode.get("sealed").stream().mapToDouble(r -> r[0]).toArray()) / median(byMode.get("plain").stream().mapToDouble(r -> r[0]).toArray()));
      System.out.printf("%-24s sealed frames cost %.1f %% of background throughput (medians); per round %s %%%n", link.getKey(), loss,
          spread(pairedLoss.stream().mapToDouble(Double::doubleValue).toArray()));
    }

    if (parts.equals("links")) {
      return;
    }
    Path certs = base.resolve("certs");
    devCa(certs);
    Map<String, List<Long>> pausesBy = new LinkedHashMap<>();
    for (int round = 0; round < rounds; round++) {
      for (String members : round % 2 == 0 ? List.of("plain", "tls") : List.of("tls", "plain")) {
        Config c = ConfigFactory.parseString("pekko.loglevel = WARNING\nferry.http.enabled = off\nferry.security.allow-insecure = on\nferry.blocks.start-eagerly = off\n");
        if (members.equals("tls")) {
          c = ConfigFactory.parseMap(Map.of(
              "ferry.security.artery.enabled", true,
              "ferry.security.artery.keystore", certs.resolve("member.p12").toString(),
              "ferry.security.artery.keystore-password", "ferry-dev",
              "ferry.security.artery.truststore", certs.resolve("truststore.p12").toString(),
              "ferry.security.artery.truststore-password", "ferry-dev")).withFallback(c);
        }
        long[] p = movePauses(base.resolve("moves-" + members + "-" + round), c, moves);
        System.out.printf("round %d move pause, members over %-5s  n=%d  p50 %d ms  p99 %d ms%n", round + 1, members, p.length, p[p.length / 2], percentile99(p));
        List<Long> all = pausesBy.computeIfAbsent(members, k -> new ArrayList<>());
        for (long x : p) {
          all.add(x);
        }
      }
    }
    for (Map.Entry<String, List<Long>> e : pausesBy.entrySet()) {
      long[] p = e.getValue().stream().mapToLong(Long::longValue).sorted().toArray();
      System.out.printf("move pause, members over %-5s  all %d moves of %d rounds: p50 %d ms  p99 %d ms  max %d ms%n", e.getKey(), p.length, rounds, p[p.length / 2], percentile99(p), p[p.length - 1]);
    }
  }

  private static long percentile99(long[] sorted) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.99) - 1)];
  }

  private static double median(double[] xs) {
    double[] s = xs.clone();
    java.util.Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  /** "median (min..max)". */
  private static String spread(double[] xs) {
    double[] s = xs.clone();
    java.util.Arrays.sort(s);
    return String.format("%.1f (%.1f..%.1f)", median(s), s[0], s[s.length - 1]);
  }

  /**
   * The cost of sealing on one thread, away from the cluster and the machine's other load: a
   * 64 KiB random block encoded and decoded plain, and encoded, sealed, opened and decoded, in MB/s.
   */
  private static double[] codec() {
    byte[] block = new byte[BLOCK];
    new Random(3).nextBytes(block);
    byte[] key = new byte[SealedFrame.KEY_LENGTH];
    new Random(4).nextBytes(key);
    ChannelKeys.OpenKey open = new ChannelKeys.OpenKey(key);
    ChannelKeys keys = new ChannelKeys() {
      @Override
      public ChannelKeys.OpenKey key(long volumeKey, long attachId) {
        return open;
      }

      @Override
      public boolean sealedOnly(long volumeKey) {
        return true;
      }
    };
    BlockFrameEncoder encoder = new BlockFrameEncoder(BLOCK);
    BlockFrameDecoder plainDecoder = new BlockFrameDecoder(BLOCK);
    FrameSealer sealer = new FrameSealer(key, 1, 1, BLOCK);
    SealedFrameDecoder sealedDecoder = new SealedFrameDecoder(BLOCK, keys);
    UnsafeBuffer plain = new UnsafeBuffer(new byte[BlockFrameEncoder.maxFrameLength(BLOCK)]);
    UnsafeBuffer sealed = new UnsafeBuffer(new byte[SealedFrame.maxFrameLength(BLOCK)]);
    double[] rates = new double[2];
    for (int round = 0; round < 3; round++) { // the first two warm the JIT up
      for (int mode = 0; mode < 2; mode++) {
        int frames = 4000;
        long t = System.nanoTime();
        for (int i = 0; i < frames; i++) {
          int n = encoder.encode(1, 1, 1, i, block, BLOCK, null, false, plain, 0);
          DecodeResult r;
          if (mode == 0) {
            r = plainDecoder.decode(plain, 0, n);
          } else {
            int m = sealer.seal(1, i, plain, 0, n, sealed);
            r = sealedDecoder.decode(sealed, 0, m);
          }
          if (r != DecodeResult.OK) {
            throw new IllegalStateException("frame " + i + " did not decode: " + r);
          }
        }
        rates[mode] = (double) frames * BLOCK / ((System.nanoTime() - t) / 1e9);
      }
    }
    System.out.printf("codec, one thread, 64 KiB random blocks: plain %.0f MB/s, sealed %.0f MB/s (AES-GCM seal + open %.0f us per block)%n",
        rates[0] / 1e6, rates[1] / 1e6, (BLOCK / rates[1] - BLOCK / rates[0]) * 1e6);
    return rates;
  }

  /** Migrates the image as {@code name}: [background bytes/s, on-demand p50 ms, p99 ms, blocks fetched on demand, frames refused (corrupt, forged, replayed)]. */
  private static double[] volume(LocalCluster cluster, Path image, String name, int reads) throws Exception {
    Ferry ferry = cluster.member("cloud").ferry();
    long size = Files.size(image);
    long blocks = size / BLOCK;
    long start = System.nanoTime();
    ferry.startVolume(new VolumeSpec(new VolumeId(name), "edge-a", image.toString(), "cloud", BLOCK, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
    VolumeStatus st = status(ferry, name);
    while (st.nbdUrl().isEmpty() || st.frontend().isEmpty()) {
      TimeUnit.MILLISECONDS.sleep(1);
      st = status(ferry, name);
    }
    URI nbd = URI.create(st.nbdUrl());
    List<Long> nanos = new ArrayList<>();
    Random random = new Random(7);
    try (NbdClient client = connect(nbd, name)) {
      // From the second half: the background copy goes front to back, so these are mostly fetched on demand.
      for (int i = 0; i < reads; i++) {
        long b = blocks / 2 + (long) (random.nextDouble() * (blocks / 2));
        long t = System.nanoTime();
        client.read(b * BLOCK, BLOCK);
        nanos.add(System.nanoTime() - t);
      }
    }
    while (!st.copied()) {
      TimeUnit.MILLISECONDS.sleep(5);
      st = status(ferry, name);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long fetched = st.frontend().map(VolumeStatus.Frontend::onDemandBlocksFetched).orElse(0L);
    long refused = st.frontend().map(VolumeStatus.Frontend::corruptFrames).orElse(0L);
    ferry.stopVolume(new VolumeId(name)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    return new double[] {size / seconds, sorted[sorted.length / 2] / 1e6, sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.99) - 1)] / 1e6, fetched, refused};
  }

  /** Moves a running window node between edge and cloud {@code moves} times each way; the pauses, sorted. */
  private static long[] movePauses(Path dir, Config config, int moves) throws Exception {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    QueryGraph graph =
        Query.named("bench")
            .generate("src", new OperatorSpec.Generate(3, 16, -1, 1_700_000_000_000L, 2, 0, 20_000))
            .project("anon", "src", Query.project().drop("owner"))
            .window("window", "anon", Query.tumbling("key", "ts", Duration.ofMillis(1000)).count("n"))
            .collect("out", "window")
            .build();
    Placement placement = Placement.builder().place("edge-a", "src", "anon", "window").place("cloud", "out").build();
    List<Long> pauses = new ArrayList<>();
    try (LocalCluster cluster = LocalCluster.start(dir, sites, config, Duration.ofSeconds(60))) {
      Ferry ferry = cluster.member("cloud").ferry();
      Deployment d = ferry.deploy(graph, placement).toCompletableFuture().get(30, TimeUnit.SECONDS);
      TimeUnit.SECONDS.sleep(3);
      for (int i = 0; i < moves; i++) {
        for (String to : new String[] {"cloud", "edge-a"}) {
          MigrationReport r = ferry.migrate(MigrationInstruction.of(d.query().value(), List.of("window"), to)).toCompletableFuture().get(120, TimeUnit.SECONDS);
          if (r.outcome() != MigrationReport.Outcome.COMPLETED) {
            throw new IllegalStateException("move did not complete: " + r);
          }
          pauses.add(r.pauseMillis());
          TimeUnit.MILLISECONDS.sleep(300);
        }
      }
    }
    return pauses.stream().mapToLong(Long::longValue).sorted().toArray();
  }

  private static void devCa(Path out) throws IOException, InterruptedException {
    Path script = Path.of("scripts", "dev-ca");
    if (!Files.isRegularFile(script)) {
      throw new IllegalStateException("run from the checkout: " + script.toAbsolutePath() + " makes the member certificates");
    }
    Process p = new ProcessBuilder("bash", script.toString(), out.toString(), "member").redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException("scripts/dev-ca failed: " + output);
    }
  }

  /** The export is registered a moment after the status names it: a few tries. */
  private static NbdClient connect(URI nbd, String name) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        return NbdClient.connect(nbd.getHost(), nbd.getPort(), name, Duration.ofSeconds(30));
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
    }
  }

  private static Path image(Path image, long bytes, long seed) throws IOException {
    Files.createDirectories(image.getParent());
    writeRandom(image, bytes, seed);
    return image;
  }

  private static void writeRandom(Path image, long bytes, long seed) throws IOException {
    Random random = new Random(seed);
    byte[] chunk = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(image)) {
      for (long done = 0; done < bytes; done += chunk.length) {
        random.nextBytes(chunk);
        out.write(chunk, 0, (int) Math.min(chunk.length, bytes - done));
      }
    }
  }

  private static VolumeStatus status(Ferry ferry, String volume) throws Exception {
    return ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }
}
