package io.ferry.bench;

import io.ferry.blocks.precopy.NbdBlockSink;
import io.ferry.blocks.precopy.PreCopyConvergence;
import io.ferry.blocks.precopy.PreCopyMigration;
import io.ferry.blocks.precopy.PreCopySource;
import io.ferry.transport.nbd.FileExport;
import io.ferry.transport.nbd.NbdClient;
import io.ferry.transport.nbd.NbdExport;
import io.ferry.transport.nbd.NbdServer;
import io.ferry.transport.nbd.NbdServerSettings;
import io.ferry.transport.shaping.LinkProfile;
import io.ferry.transport.shaping.TcpLinkEmulator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Pre-copy (warm) migration on the emulated WAN link {@code bench-volume} uses (TCP, delay and
 * bandwidth), with a workload writing 64 KiB blocks through the source's NBD export the whole time:
 * at half the link rate (passes, change set per pass, cut-over pause) and at 1.5 times it (the
 * write-blocking fallback); then, when {@code qemu-storage-daemon} is installed, QEMU's
 * {@code blockdev-mirror} in both copy modes on the same workload, image and link as the peer.
 */
@Command(name = "bench-precopy", description = "Pre-copy migration with writes at half and 1.5x the link rate, passes and cut-over pause, against qemu-storage-daemon's blockdev-mirror.")
public final class PreCopyBench implements Callable<Integer> {

  private static final int BLOCK = 64 * 1024;
  /**
   * Requests on the link at once: a pass's blocks are scattered (one block per request), and one
   * connection has one request on the wire, so about two bandwidth-delay products of blocks.
   */
  private static final int SINK_CONNECTIONS = 24;

  @Option(names = "--size-mib", description = "image size (default ${DEFAULT-VALUE})")
  int sizeMiB = 256;

  @Option(names = "--rtt-ms", description = "round-trip time (default ${DEFAULT-VALUE})")
  int rttMs = 50;

  @Option(names = "--mbit", description = "link bandwidth in Mbit/s (default ${DEFAULT-VALUE})")
  long mbit = 100;

  @Option(names = "--hot", description = "share of the volume the workload writes to (default ${DEFAULT-VALUE}; 1 = uniform over the whole volume)")
  double hot = 0.1;

  @Option(names = "--threshold-blocks", description = "a change set at most this is the final pass (default: what the link carries in 0.5 s)")
  long thresholdBlocks = -1;

  @Option(names = "--no-peer", description = "skip qemu-storage-daemon's blockdev-mirror")
  boolean noPeer;

  @Override
  public Integer call() throws Exception {
    if (sizeMiB < 8 || sizeMiB > 16384 || mbit < 1 || rttMs < 0 || !(hot > 0 && hot <= 1)) {
      throw new IllegalArgumentException("--size-mib 8..16384, --mbit >= 1, --rtt-ms >= 0, --hot in (0, 1]");
    }
    long linkBytesPerSec = mbit * 1_000_000L / 8;
    long threshold = thresholdBlocks >= 0 ? thresholdBlocks : Math.max(1, linkBytesPerSec / 2 / BLOCK);
    Path base = Files.createTempDirectory("ferry-precopy-bench");
    LinkProfile wan = LinkProfile.wan(Duration.ofMillis(rttMs), mbit * 1_000_000L, 0.0, 1);
    System.out.printf("ferry pre-copy benchmark: %d MiB image (half the blocks hold data), blocks of %d KiB, emulated link %d ms RTT %d Mbit/s; "
        + "writes of one block to %.0f %% of the volume; cut-over threshold %d blocks; work dir %s; %s%n",
        sizeMiB, BLOCK / 1024, rttMs, mbit, hot * 100, threshold, base, load());
    Path image = base.resolve("image.img");
    writeImage(image, (long) sizeMiB << 20);

    List<String> rows = new ArrayList<>();
    for (double rate : new double[] {0.5, 1.5}) {
      rows.add(ferry(base, image, wan, linkBytesPerSec, rate, threshold));
    }
    if (!noPeer) {
      if (!Files.isExecutable(Path.of("/usr/bin/qemu-storage-daemon"))) {
        rows.add("qemu-storage-daemon: not installed (Debian: apt-get install qemu-system-common); the peer was skipped");
      } else {
        for (double rate : new double[] {0.5, 1.5}) {
          for (String mode : new String[] {"background", "write-blocking"}) {
            rows.add(qemu(base, image, wan, linkBytesPerSec, rate, mode));
          }
        }
      }
    }
    System.out.println();
    System.out.println("summary (" + load() + "):");
    rows.forEach(r -> System.out.println("  " + r));
    // The images are several times the volume's size; the logs of qemu-storage-daemon stay.
    for (String name : List.of("image.img", "ferry-source.img", "ferry-target.img", "qemu-source.img", "qemu-target.img")) {
      Files.deleteIfExists(base.resolve(name));
    }
    return 0;
  }

  /** One Ferry pre-copy run: copy, cut-over asked at once after it, passes, pause; checks the target. */
  private String ferry(Path base, Path image, LinkProfile wan, long linkBytesPerSec, double rate, long threshold) throws Exception {
    Path source = base.resolve("ferry-source.img");
    Path target = base.resolve("ferry-target.img");
    Files.copy(image, source, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    sparse(target, Files.size(image));
    NbdServerSettings nbd = NbdServerSettings.defaults();
    try (PreCopySource export = new PreCopySource("vol", source, BLOCK, 8);
        NbdServer sourceServer = NbdServer.start(nbd, n -> Optional.<NbdExport>of(export).filter(e -> n.equals("vol")), () -> List.of("vol"));
        FileExport targetFile = FileExport.open("vol", target, false);
        NbdServer targetServer = NbdServer.start(nbd, n -> Optional.<NbdExport>of(targetFile).filter(e -> n.equals("vol")), () -> List.of("vol"));
        TcpLinkEmulator link = TcpLinkEmulator.startShared("127.0.0.1", new InetSocketAddress("127.0.0.1", targetServer.port()), wan);
        NbdBlockSink sink = new NbdBlockSink("127.0.0.1", link.port(), "vol", SINK_CONNECTIONS, Duration.ofSeconds(60))) {
      Writer writer = Writer.start(sourceServer.port(), export.blockCount(), hot, (long) (rate * linkBytesPerSec), 4);
      long t0 = System.nanoTime();
      PreCopyMigration m = PreCopyMigration.start(export, sink,
          new PreCopyMigration.Settings(new PreCopyConvergence.Settings(threshold, 8), 16, SINK_CONNECTIONS, Duration.ofSeconds(60), true));
      while (m.phase() == PreCopyMigration.Phase.COPYING) {
        TimeUnit.MILLISECONDS.sleep(20);
      }
      m.requestCutOver();
      if (!m.awaitEnd(Duration.ofMinutes(30))) {
        throw new IllegalStateException("no cut-over within 30 minutes: " + m.status());
      }
      double total = (System.nanoTime() - t0) / 1e9;
      writer.stop();
      PreCopyMigration.Status st = m.status();
      boolean equal = st.phase() == PreCopyMigration.Phase.CUT_OVER && Files.mismatch(source, target) == -1;
      StringBuilder passes = new StringBuilder();
      for (PreCopyConvergence.PassRecord p : st.passes()) {
        passes.append(p.pass() == 0 ? "copy" : "pass " + p.pass() + " " + p.changedBlocks() + " blocks")
            .append(String.format(" %.2f s", p.nanos() / 1e9)).append(p.writeBlocking() ? " WB" : "").append(p.holdWrites() ? " held" : "").append("; ");
      }
      System.out.printf("ferry pre-copy, writes at %.1fx the link (%s): %s%n  mode %s %s%n  passes after the copy %d, cut-over pause %.0f ms, "
          + "client's longest write %.0f ms, writes %d acknowledged (%.1f MB/s) %d mirrored %d refused at the cut-over, "
          + "%d bytes through the link, total %.1f s, target equals source: %s%n",
          rate, load(), passes, st.mode(), st.modeReason(), st.passes().size() - 1, st.pauseNanos() / 1e6, writer.maxLatencyNanos() / 1e6,
          st.writesAcknowledged(), writer.bytesPerSec() / 1e6, st.writesMirrored(), st.writesRefused(), link.bytesForwarded(), total, equal);
      m.close();
      return String.format("ferry  %.1fx link: passes %d (%s), pause %.0f ms, mode %s, longest client write %.0f ms, total %.1f s, %d link bytes, target==source %s",
          rate, st.passes().size() - 1, sizes(st), st.pauseNanos() / 1e6, st.mode(), writer.maxLatencyNanos() / 1e6, total, link.bytesForwarded(), equal);
    }
  }

  private static String sizes(PreCopyMigration.Status st) {
    StringBuilder b = new StringBuilder();
    for (PreCopyConvergence.PassRecord p : st.passes()) {
      if (p.pass() > 0) {
        b.append(b.length() == 0 ? "" : "/").append(p.changedBlocks());
      }
    }
    return b + " blocks";
  }

  /**
   * The peer: qemu-storage-daemon exports the source over NBD (the workload writes there) and
   * mirrors it with {@code blockdev-mirror} (sync=full) to the same target export over the same
   * link; once the job is ready (QEMU's "converged"), {@code block-job-complete} is the cut-over.
   */
  private String qemu(Path base, Path image, LinkProfile wan, long linkBytesPerSec, double rate, String copyMode) throws Exception {
    Path source = base.resolve("qemu-source.img");
    Path target = base.resolve("qemu-target.img");
    Files.copy(image, source, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    sparse(target, Files.size(image));
    Path qmpSocket = base.resolve("qmp-" + copyMode + ".sock");
    Files.deleteIfExists(qmpSocket);
    int nbdPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      nbdPort = s.getLocalPort();
    }
    NbdServerSettings nbd = NbdServerSettings.defaults();
    Process qsd = null;
    try (FileExport targetFile = FileExport.open("vol", target, false);
        NbdServer targetServer = NbdServer.start(nbd, n -> Optional.<NbdExport>of(targetFile).filter(e -> n.equals("vol")), () -> List.of("vol"));
        TcpLinkEmulator link = TcpLinkEmulator.startShared("127.0.0.1", new InetSocketAddress("127.0.0.1", targetServer.port()), wan)) {
      qsd = new ProcessBuilder("qemu-storage-daemon",
          "--blockdev", "driver=file,filename=" + source + ",node-name=file0,cache.direct=off",
          "--blockdev", "driver=raw,file=file0,node-name=src",
          "--nbd-server", "addr.type=inet,addr.host=127.0.0.1,addr.port=" + nbdPort,
          "--export", "type=nbd,id=e0,node-name=src,name=vol,writable=on",
          "--chardev", "socket,path=" + qmpSocket + ",server=on,wait=off,id=qmp0",
          "--monitor", "chardev=qmp0")
          .redirectErrorStream(true).redirectOutput(base.resolve("qsd-" + copyMode + ".log").toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!Files.exists(qmpSocket)) {
        if (System.nanoTime() > deadline || !qsd.isAlive()) {
          throw new IllegalStateException("qemu-storage-daemon did not start; see " + base.resolve("qsd-" + copyMode + ".log"));
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
      try (Qmp qmp = Qmp.connect(qmpSocket)) {
        qmp.execute("{\"execute\":\"qmp_capabilities\"}");
        Writer writer = Writer.start(nbdPort, Files.size(image) / BLOCK, hot, (long) (rate * linkBytesPerSec), 4);
        long t0 = System.nanoTime();
        qmp.execute("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"nbd\",\"node-name\":\"tgt\",\"export\":\"vol\","
            + "\"server\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"" + link.port() + "\"}}}");
        qmp.execute("{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":\"m0\",\"device\":\"src\",\"target\":\"tgt\",\"sync\":\"full\","
            + "\"copy-mode\":\"" + copyMode + "\"}}");
        // QEMU's mirror is ready once its dirty bitmap was empty ("in sync"); writes that never let
        // it empty keep it copying: bounded at twice the image's time at link rate plus 30 s.
        long readyDeadline = System.nanoTime() + (long) (2e9 * Files.size(image) / linkBytesPerSec) + TimeUnit.SECONDS.toNanos(30);
        boolean ready = false;
        while (!ready && System.nanoTime() < readyDeadline) {
          ready = qmp.execute("{\"execute\":\"query-block-jobs\"}").contains("\"ready\": true");
          if (!ready) {
            TimeUnit.MILLISECONDS.sleep(100);
          }
        }
        double readySec = (System.nanoTime() - t0) / 1e9;
        if (!ready) {
          writer.stop();
          qmp.execute("{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"m0\",\"force\":true}}");
          System.out.printf("qemu-storage-daemon blockdev-mirror copy-mode=%s, writes at %.1fx the link (%s): NOT ready (never in sync) after %.1f s, "
              + "writes %d (%.1f MB/s), client's longest write %.0f ms, %d bytes through the link%n",
              copyMode, rate, load(), readySec, writer.writes(), writer.bytesPerSec() / 1e6, writer.maxLatencyNanos() / 1e6, link.bytesForwarded());
          return String.format("qemu   %.1fx link %s: NOT ready after %.1f s (cancelled), longest client write %.0f ms, %d link bytes",
              rate, copyMode, readySec, writer.maxLatencyNanos() / 1e6, link.bytesForwarded());
        }
        // The cut-over: a VM is paused, the job completes (the export then writes to the target
        // node), the VM resumes there. The pause is the workload's stop to the job's end.
        long c0 = System.nanoTime();
        writer.stop();
        qmp.execute("{\"execute\":\"block-job-complete\",\"arguments\":{\"device\":\"m0\"}}");
        while (!qmp.execute("{\"execute\":\"query-block-jobs\"}").contains("\"return\": []")) {
          TimeUnit.MILLISECONDS.sleep(5);
        }
        double completeMs = (System.nanoTime() - c0) / 1e6;
        double total = (System.nanoTime() - t0) / 1e9;
        boolean equal = Files.mismatch(source, target) == -1;
        System.out.printf("qemu-storage-daemon blockdev-mirror copy-mode=%s, writes at %.1fx the link (%s): ready (in sync) after %.1f s, "
            + "block-job-complete %.0f ms, client's longest write %.0f ms, writes %d (%.1f MB/s), %d bytes through the link, total %.1f s, target equals source: %s%n",
            copyMode, rate, load(), readySec, completeMs, writer.maxLatencyNanos() / 1e6, writer.writes(), writer.bytesPerSec() / 1e6, link.bytesForwarded(), total, equal);
        return String.format("qemu   %.1fx link %s: ready after %.1f s, complete %.0f ms, longest client write %.0f ms, total %.1f s, %d link bytes, target==source %s",
            rate, copyMode, readySec, completeMs, writer.maxLatencyNanos() / 1e6, total, link.bytesForwarded(), equal);
      }
    } finally {
      if (qsd != null) {
        qsd.destroy();
        if (!qsd.waitFor(10, TimeUnit.SECONDS)) {
          qsd.destroyForcibly();
        }
      }
    }
  }

  /** Half the blocks random (incompressible), half zero, spread evenly. */
  private static void writeImage(Path image, long size) throws IOException {
    Random r = new Random(42);
    byte[] block = new byte[BLOCK];
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(size);
      for (long b = 0; b < size / BLOCK; b += 2) {
        r.nextBytes(block);
        f.seek(b * BLOCK);
        f.write(block);
      }
    }
  }

  private static void sparse(Path file, long size) throws IOException {
    Files.deleteIfExists(file);
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(size);
    }
  }

  private static String load() {
    try {
      return "load average " + Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      return "load average unknown";
    }
  }

  /**
   * The workload: {@code threads} NBD connections to the source export, each writing whole blocks
   * at random within the hot share of the volume, paced to {@code bytesPerSec} in total. Stops at
   * the first refused write (the cut-over) or on {@link #stop()}.
   */
  static final class Writer {
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong maxLatency = new AtomicLong();
    private final long startNanos = System.nanoTime();
    private volatile long endNanos;

    static Writer start(int port, long blocks, double hot, long bytesPerSec, int threads) throws IOException {
      Writer w = new Writer();
      long hotBlocks = Math.max(1, (long) (blocks * hot));
      long intervalNanos = (long) (1e9 * BLOCK * threads / bytesPerSec);
      for (int i = 0; i < threads; i++) {
        NbdClient c = NbdClient.connect("127.0.0.1", port, "vol", Duration.ofMinutes(5));
        Random r = new Random(100 + i);
        Thread t = new Thread(() -> w.loop(c, r, hotBlocks, intervalNanos), "precopy-bench-writer-" + i);
        t.setDaemon(true);
        w.threads.add(t);
      }
      w.threads.forEach(Thread::start);
      return w;
    }

    private void loop(NbdClient c, Random r, long hotBlocks, long intervalNanos) {
      byte[] data = new byte[BLOCK];
      long next = System.nanoTime();
      try (c) {
        while (running) {
          long wait = next - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
          next += intervalNanos;
          r.nextBytes(data);
          long t = System.nanoTime();
          c.write(r.nextLong(hotBlocks) * BLOCK, data);
          long lat = System.nanoTime() - t;
          maxLatency.accumulateAndGet(lat, Math::max);
          writes.incrementAndGet();
        }
      } catch (IOException e) {
        // refused at the cut-over: the workload moves to the target
      }
    }

    void stop() throws InterruptedException {
      running = false;
      for (Thread t : threads) {
        t.join(10_000);
      }
      endNanos = System.nanoTime();
    }

    long writes() {
      return writes.get();
    }

    long maxLatencyNanos() {
      return maxLatency.get();
    }

    double bytesPerSec() {
      return writes.get() * (double) BLOCK / ((endNanos - startNanos) / 1e9);
    }
  }

  /** A minimal QMP client over the daemon's unix socket: one command at a time, events skipped. */
  static final class Qmp implements AutoCloseable {
    private final SocketChannel ch;
    private final BufferedReader in;

    private Qmp(SocketChannel ch) {
      this.ch = ch;
      this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
    }

    static Qmp connect(Path socket) throws IOException {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      ch.connect(UnixDomainSocketAddress.of(socket));
      Qmp q = new Qmp(ch);
      q.in.readLine(); // the greeting
      return q;
    }

    String execute(String json) throws IOException {
      ch.write(ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8)));
      while (true) {
        String line = in.readLine();
        if (line == null) {
          throw new IOException("qemu-storage-daemon closed its monitor");
        }
        if (line.contains("\"event\"")) {
          continue; // events are not needed: the job's state is polled
        }
        if (line.contains("\"error\"")) {
          throw new IOException(json + " -> " + line);
        } else if (line.contains("\"return\"")) {
          return line;
        }
      }
    }

    @Override
    public void close() throws IOException {
      ch.close();
    }
  }
}
