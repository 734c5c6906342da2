package io.ferry.simulator.chaos;

import io.ferry.api.Ferry;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.simulator.check.BlockIntegrityCheck;
import io.ferry.simulator.report.RunReport;
import io.ferry.transport.nbd.NbdClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The block side of a chaos run: seeded source images (about half zero blocks, the rest text or
 * random bytes), one migration each, and a client that reads and writes every volume through the
 * target's NBD export while faults land, checking each read against a reference (the source with
 * every acknowledged write applied). A write whose connection broke is sent again until it is
 * acknowledged, so the reference stays exact. At the end each volume is read back in full.
 */
final class BlockWorkload implements AutoCloseable {

  private final LocalCluster cluster;
  private final Scenario.Volumes spec;
  private final long start;
  private final List<RunReport.Event> operations;
  private final SplittableRandom random;
  private final Map<String, byte[]> reference = new LinkedHashMap<>();
  private final Map<String, Path> sourceFiles = new LinkedHashMap<>();
  private final List<BlockIntegrityCheck.ReadMismatch> mismatches = Collections.synchronizedList(new ArrayList<>());
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final Map<String, Long> copiedAt = new LinkedHashMap<>();
  private final Map<String, Long> sentByBackend = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile boolean running = true;
  private Thread client;

  BlockWorkload(LocalCluster cluster, Scenario.Volumes spec, long seed, long start, List<RunReport.Event> operations) {
    this.cluster = cluster;
    this.spec = spec;
    this.start = start;
    this.operations = operations;
    this.random = new SplittableRandom(seed ^ 0xB10C5L);
  }

  /** Writes the images and starts each volume's migration and the client. */
  void start(Path dir) throws Exception {
    for (int i = 1; i <= spec.count(); i++) {
      String volume = "vol-" + i;
      byte[] image = image(random.split(), (long) spec.sizeMiB() << 20, spec.blockSizeBytes());
      Path file = dir.resolve(volume + ".img");
      Files.write(file, image);
      reference.put(volume, image);
      sourceFiles.put(volume, file);
      ferry().startVolume(new VolumeSpec(new VolumeId(volume), spec.sourceSite(), file.toString(), spec.targetSite(), spec.blockSizeBytes(), ""))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      operations.add(new RunReport.Event(now(), "volume-start", volume + " " + spec.sourceSite() + " -> " + spec.targetSite() + " (" + spec.sizeMiB() + " MiB)"));
    }
    if (spec.writePolicy().equals(io.ferry.blocks.WritePolicy.WRITE_BACK.word())) {
      for (String volume : reference.keySet()) {
        control(volume, f -> f.setWritePolicy(new VolumeId(volume), io.ferry.blocks.WritePolicy.WRITE_BACK), Duration.ofSeconds(60));
        operations.add(new RunReport.Event(now(), "volume-policy", volume + " write-back"));
      }
    }
    client = new Thread(this::clientLoop, "ferry-sim-block-client");
    client.setDaemon(true);
    client.start();
  }

  private static byte[] image(SplittableRandom r, long size, int blockSize) {
    byte[] image = new byte[(int) size];
    for (int b = 0; b < size / blockSize; b++) {
      int kind = r.nextInt(4);
      int off = b * blockSize;
      if (kind == 1) {
        for (int i = 0; i < blockSize; i += 8) {
          image[off + i] = (byte) ('a' + r.nextInt(4)); // compresses
        }
      } else if (kind >= 2) {
        for (int i = 0; i < blockSize; i++) {
          image[off + i] = (byte) r.nextInt(256);
        }
      }
    }
    return image;
  }

  /**
   * The member a volume's frontend or backend runs on, for a crash fault (from the registry: a
   * dead part cannot stall the answer). Fails saying why when it is not known.
   */
  String memberOf(String part) throws Exception {
    List<String> volumes = new ArrayList<>(reference.keySet());
    String volume = volumes.get(random.nextInt(volumes.size()));
    List<io.ferry.api.VolumeInfo> all;
    try {
      all = ask(Ferry::volumes, 2_000);
    } catch (Exception e) {
      throw new IllegalStateException("the volume registry did not answer (its member may be the one being replaced)", e);
    }
    for (var v : all) {
      if (v.spec().volume().value().equals(volume)) {
        String m = part.equals("frontend") ? v.frontendMember() : v.backendMember();
        if (m.isEmpty()) {
          throw new IllegalStateException(volume + "'s " + part + " is not placed");
        }
        return m;
      }
    }
    throw new IllegalStateException(volume + " is not migrating");
  }

  /** Samples what each backend instance has sent; a crashed backend's count is kept. */
  private void sampleLinkBytes() {
    for (String volume : reference.keySet()) {
      try {
        VolumeStatus st = ask(f -> f.volumeStatus(new VolumeId(volume)), 2_000);
        st.backend().ifPresent(b -> sentByBackend.merge(volume + "@" + st.backendMember(), b.bytesSent().values().stream().mapToLong(Long::longValue).sum(), Math::max));
      } catch (Exception e) {
        // a part is moving: sample again later
      }
    }
  }

  private void clientLoop() {
    long pauseNanos = spec.opsPerSecond() == 0 ? TimeUnit.MILLISECONDS.toNanos(200) : TimeUnit.SECONDS.toNanos(1) / spec.opsPerSecond();
    Map<String, NbdClient> connections = new LinkedHashMap<>();
    List<String> volumes = new ArrayList<>(reference.keySet());
    SplittableRandom r = random.split();
    long lastSample = 0;
    while (running) {
      if (System.nanoTime() - lastSample > TimeUnit.MILLISECONDS.toNanos(500)) {
        lastSample = System.nanoTime();
        sampleLinkBytes();
      }
      String volume = volumes.get(r.nextInt(volumes.size()));
      byte[] ref = reference.get(volume);
      long offset = (long) r.nextInt(ref.length / 512) * 512;
      int length = (int) Math.min(ref.length - offset, 512L * (1 + r.nextInt(128)));
      boolean write = spec.opsPerSecond() > 0 && r.nextInt(10) < 3;
      byte[] data = null;
      if (write) {
        data = new byte[length];
        for (int i = 0; i < length; i++) {
          data[i] = (byte) r.nextInt(256);
        }
      }
      // A write is sent until acknowledged (then applied to the reference); a read that failed is skipped.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (System.nanoTime() < deadline) {
        try {
          NbdClient c = connections.get(volume);
          if (c == null) {
            c = connect(volume);
            connections.put(volume, c);
          }
          long at = now();
          if (write) {
            c.write(offset, data);
            synchronized (ref) {
              System.arraycopy(data, 0, ref, (int) offset, length);
            }
            writes.incrementAndGet();
          } else {
            byte[] got = c.read(offset, length);
            long diff;
            synchronized (ref) {
              diff = BlockIntegrityCheck.firstDifference(ref, (int) offset, got, length);
            }
            reads.incrementAndGet();
            if (diff >= 0) {
              mismatches.add(new BlockIntegrityCheck.ReadMismatch(volume, at, offset, length, diff));
            }
          }
          data = null;
          break;
        } catch (IOException | RuntimeException e) {
          NbdClient broken = connections.remove(volume);
          if (broken != null) {
            broken.close();
          }
          if (!write) {
            break;
          }
          sleep(100);
        }
      }
      if (write && data != null) {
        // Never acknowledged: the target may or may not hold it, so later reads of the range
        // could differ from the reference without any fault of Ferry's. Say so in the report.
        operations.add(new RunReport.Event(now(), "write-unacknowledged", volume + " [" + offset + ", +" + length + ")"));
      }
      java.util.concurrent.locks.LockSupport.parkNanos(pauseNanos);
    }
    connections.values().forEach(NbdClient::close);
  }

  private NbdClient connect(String volume) throws IOException {
    try {
      VolumeStatus st = ask(f -> f.volumeStatus(new VolumeId(volume)), 3_000);
      if (st.nbdUrl().isEmpty() || st.frontend().isEmpty()) {
        throw new IOException("volume " + volume + " is not exported yet");
      }
      String hostPort = st.nbdUrl().substring("nbd://".length(), st.nbdUrl().lastIndexOf('/'));
      int colon = hostPort.lastIndexOf(':');
      return NbdClient.connect(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)), volume, Duration.ofSeconds(30));
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("no status for volume " + volume + ": " + e.getMessage(), e);
    }
  }

  /**
   * Stops the client (its last write acknowledged), waits for every volume to be copied within
   * {@code bound}, and reads each back in full against the reference.
   */
  Map<String, BlockIntegrityCheck.FinalState> finish(Duration bound) throws InterruptedException {
    running = false;
    if (client != null) {
      client.join(TimeUnit.SECONDS.toMillis(120));
    }
    Map<String, BlockIntegrityCheck.FinalState> finals = new LinkedHashMap<>();
    long deadline = System.nanoTime() + bound.toNanos();
    for (Map.Entry<String, byte[]> e : reference.entrySet()) {
      String volume = e.getKey();
      boolean copied = false;
      while (!copied && System.nanoTime() < deadline) {
        try {
          copied = ask(f -> f.volumeStatus(new VolumeId(volume)), 3_000).copied();
        } catch (Exception ex) {
          // a member is going away: ask again
        }
        if (!copied) {
          sleep(200);
        }
      }
      if (copied) {
        copiedAt.put(volume, now());
        operations.add(new RunReport.Event(now(), "volume-copied", volume));
      }
      finals.put(volume, readBack(volume, e.getValue(), copied));
      if (copied && !spec.end().equals("none")) {
        finals.put(volume + "@source", end(volume, e.getValue(), Duration.ofNanos(Math.max(TimeUnit.SECONDS.toNanos(60), deadline - System.nanoTime()))));
      }
    }
    return finals;
  }

  /**
   * The end of the volume's life once the client stopped: cut over then reverse, or abort; then
   * the source image must hold every acknowledged write (the reference), byte for byte.
   */
  private BlockIntegrityCheck.FinalState end(String volume, byte[] ref, Duration bound) {
    VolumeId v = new VolumeId(volume);
    try {
      if (spec.end().equals("reverse")) {
        control(volume, f -> f.controlVolume(v, io.ferry.api.VolumeAction.CUTOVER), bound);
        awaitPhase(volume, io.ferry.api.VolumePhase.CUT_OVER, bound);
        operations.add(new RunReport.Event(now(), "volume-cut-over", volume));
        control(volume, f -> f.controlVolume(v, io.ferry.api.VolumeAction.REVERSE), bound);
        awaitPhase(volume, io.ferry.api.VolumePhase.REVERSED, bound);
        operations.add(new RunReport.Event(now(), "volume-reversed", volume));
      } else {
        control(volume, f -> f.controlVolume(v, io.ferry.api.VolumeAction.ABORT), bound);
        awaitPhase(volume, io.ferry.api.VolumePhase.ABORTED, bound);
        operations.add(new RunReport.Event(now(), "volume-aborted", volume));
      }
      // The liveness checker's "finished" for the source side: it is the primary again.
      copiedAt.put(volume + "@source", now());
      byte[] source = Files.readAllBytes(sourceFiles.get(volume));
      long diff = BlockIntegrityCheck.firstDifference(ref, 0, source, ref.length);
      return new BlockIntegrityCheck.FinalState(true, diff, diff < 0 ? "" : "the source after " + spec.end() + " lacks an acknowledged write");
    } catch (Exception e) {
      return new BlockIntegrityCheck.FinalState(false, -1, spec.end() + " did not end: " + e.getMessage());
    }
  }

  /** Asks until the request is accepted (a member or the frontend may be moving). */
  private void control(String volume, java.util.function.Function<Ferry, java.util.concurrent.CompletionStage<io.ferry.api.VolumeControlled>> call, Duration bound) throws Exception {
    long deadline = System.nanoTime() + bound.toNanos();
    while (true) {
      try {
        ask(call, 5_000);
        return;
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(volume + ": not accepted within " + bound + ": " + e.getMessage(), e);
        }
        sleep(200);
      }
    }
  }

  private void awaitPhase(String volume, io.ferry.api.VolumePhase phase, Duration bound) throws Exception {
    long deadline = System.nanoTime() + bound.toNanos();
    while (true) {
      try {
        if (ask(f -> f.volumeStatus(new VolumeId(volume)), 3_000).phase() == phase) {
          return;
        }
      } catch (Exception e) {
        // a member is going away: ask again
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(volume + " not " + phase + " within " + bound);
      }
      sleep(200);
    }
  }

  private BlockIntegrityCheck.FinalState readBack(String volume, byte[] ref, boolean copied) {
    try (NbdClient c = connect(volume)) {
      int chunk = 4 << 20;
      for (long off = 0; off < ref.length; off += chunk) {
        int n = (int) Math.min(chunk, ref.length - off);
        long diff = BlockIntegrityCheck.firstDifference(ref, (int) off, c.read(off, n), n);
        if (diff >= 0) {
          return new BlockIntegrityCheck.FinalState(true, off + diff, "");
        }
      }
      return new BlockIntegrityCheck.FinalState(true, -1, copied ? "" : "(read back before the copy completed)");
    } catch (IOException e) {
      return new BlockIntegrityCheck.FinalState(false, -1, e.getMessage());
    }
  }

  /** Bytes the volumes' backends put on the link source site -> target site (every backend instance, sampled). */
  Map<String, Long> bytesPerLink() {
    sampleLinkBytes();
    return Map.of(spec.sourceSite() + "->" + spec.targetSite(), sentByBackend.values().stream().mapToLong(Long::longValue).sum());
  }

  Map<String, Long> copiedAtMillis() {
    return copiedAt;
  }

  List<BlockIntegrityCheck.ReadMismatch> mismatches() {
    return new ArrayList<>(mismatches);
  }

  long reads() {
    return reads.get();
  }

  long writes() {
    return writes.get();
  }

  private Ferry ferry() {
    List<FerryNode> live = cluster.live();
    return live.get(0).ferry();
  }

  /**
   * Asks through each live member in turn: a member that joined while another is unreachable
   * cannot reach the registry singleton until the cluster converges.
   */
  private <T> T ask(java.util.function.Function<Ferry, java.util.concurrent.CompletionStage<T>> call, long timeoutMillis) throws Exception {
    Exception last = new IllegalStateException("no live member");
    for (FerryNode m : cluster.live()) {
      try {
        return call.apply(m.ferry()).toCompletableFuture().get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        last = e;
      }
    }
    throw last;
  }

  private long now() {
    return System.currentTimeMillis() - start;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    running = false;
  }
}
