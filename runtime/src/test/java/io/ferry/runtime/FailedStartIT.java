package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.Closeable;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member whose start fails releases everything it took before the error reaches the caller: no
 * listening port (each is bound again), no thread it started, no open file under its data
 * directory (read from /proc/self/fd), and the data directory can be deleted. One test per point of
 * failure: an unreachable Cassandra journal, a taken Artery port, the Aeron driver, a taken Aeron
 * or NBD port (block resources half open), a taken management port (everything else up), and a
 * local cluster whose second member fails. Linux only (/proc).
 */
class FailedStartIT {

  /** Threads the JVM or the JDK start on first use of a facility and keep; not the member's. */
  private static final Pattern JVM_THREADS =
      Pattern.compile("ForkJoinPool\\.commonPool-worker-\\d+|process reaper|Attach Listener|Common-Cleaner|Cleaner-\\d+|Keep-Alive-Timer|Notification Thread|HttpClient-.*");

  @TempDir Path dir;

  /** Ports the member is told to use, all free when the test starts; one of them is then taken. */
  private record Ports(int artery, int aeron, int nbd, int http) {
    static Ports free() {
      return new Ports(freeTcp(), freeUdp(), freeTcp(), freeTcp());
    }
  }

  @Test
  void aTakenArteryPortReleasesEverything() throws Exception {
    Ports p = Ports.free();
    assertReleases(p, tcp(p.artery()), "ferry.member.port = " + p.artery());
  }

  @Test
  void aTakenAeronPortReleasesEverything() throws Exception {
    Ports p = Ports.free();
    assertReleases(p, udp(p.aeron()), String.valueOf(p.aeron()));
  }

  @Test
  void aTakenNbdPortReleasesEverything() throws Exception {
    Ports p = Ports.free();
    assertReleases(p, tcp(p.nbd()), String.valueOf(p.nbd()));
  }

  @Test
  void aTakenManagementPortReleasesEverything() throws Exception {
    Ports p = Ports.free();
    assertReleases(p, tcp(p.http()), "ferry.http.port = " + p.http());
  }

  /** The Aeron media driver cannot make its directory (a file is in the way) after the store opened. */
  @Test
  void anAeronDriverThatCannotStartReleasesEverything() throws Exception {
    Ports p = Ports.free();
    Path data = dir.resolve("data");
    Files.createDirectories(data);
    Files.writeString(data.resolve("aeron"), "not a directory");
    assertReleases(p, () -> {}, "could not create aeron directory", ConfigFactory.empty());
  }

  /** A Cassandra journal nobody answers for: the driver's session and its threads go too. */
  @Test
  void anUnreachableJournalReleasesEverything() throws Exception {
    Ports p = Ports.free();
    int nobody = freeTcp();
    Config cassandra =
        ConfigFactory.parseMap(
            Map.of(
                "ferry.persistence.journal", "cassandra",
                "ferry.persistence.cassandra.contact-points", List.of("127.0.0.1:" + nobody),
                "ferry.persistence.cassandra.schema-timeout", "5s"));
    assertReleases(p, () -> {}, "127.0.0.1:" + nobody, cassandra);
  }

  private void assertReleases(Ports ports, Closeable taken, String messageNames) throws Exception {
    assertReleases(ports, taken, messageNames, ConfigFactory.empty());
  }

  private void assertReleases(Ports ports, Closeable taken, String messageNames, Config extra) throws Exception {
    Path data = dir.resolve("data");
    Set<Long> threadsBefore = threadIds();
    Set<String> socketsBefore = openSockets();
    try (taken) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> FerryNode.start(extra.withFallback(config(data, ports))));
      assertTrue(messageOf(e).contains(messageNames), () -> "the error does not name '" + messageNames + "': " + messageOf(e));
    }
    assertPortsFree(ports);
    assertNoThreadSocketOrFile(threadsBefore, socketsBefore, data);
  }

  /**
   * A local cluster whose second member cannot start (the first holds the NBD port both are told
   * to use) stops the first too: nothing of either is left.
   */
  @Test
  void aClusterWhoseSecondMemberFailsStopsTheFirst() throws Exception {
    Path data = dir.resolve("data");
    int nbd = freeTcp();
    Set<Long> threadsBefore = threadIds();
    Set<String> socketsBefore = openSockets();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () -> LocalCluster.start(data, sites, ConfigFactory.parseMap(Map.of("ferry.blocks.nbd.port", nbd)), Duration.ofSeconds(60)));
    assertTrue(messageOf(e).contains("ferry.blocks.nbd.port = " + nbd), () -> messageOf(e));
    try (ServerSocket again = tcpBound(nbd)) {
      assertTrue(again.isBound());
    } catch (BindException stillBound) {
      // state 0A is a listener (a member's NBD server left open); anything else, a connection
      throw new AssertionError("the NBD port " + nbd + " is still bound: " + holdersOf(nbd) + "; the start failed with: " + messageOf(e)
          + " suppressed " + Arrays.toString(e.getSuppressed()), stillBound);
    }
    assertNoThreadSocketOrFile(threadsBefore, socketsBefore, data);
  }

  private static void assertPortsFree(Ports ports) throws IOException {
    // Every port the member was told to use can be bound again at once.
    try (ServerSocket a = tcpBound(ports.artery());
        DatagramSocket b = new DatagramSocket(new InetSocketAddress(loopback(), ports.aeron()));
        ServerSocket c = tcpBound(ports.nbd());
        ServerSocket d = tcpBound(ports.http())) {
      assertTrue(a.isBound() && b.isBound() && c.isBound() && d.isBound());
    } catch (BindException stillBound) {
      throw new AssertionError("a port of the failed member is still bound (" + ports + "): nbd " + holdersOf(ports.nbd()) + ", http "
          + holdersOf(ports.http()) + ", artery " + holdersOf(ports.artery()), stillBound);
    }
  }

  /** No thread or socket started since, no open file under {@code data}, and {@code data} can be deleted. */
  private static void assertNoThreadSocketOrFile(Set<Long> threadsBefore, Set<String> socketsBefore, Path data) throws IOException {
    List<String> threadsLeft =
        Thread.getAllStackTraces().entrySet().stream()
            .filter(e -> e.getKey().isAlive() && !threadsBefore.contains(e.getKey().getId()) && !JVM_THREADS.matcher(e.getKey().getName()).matches()
                && !isJdkAsyncFileWorker(e.getKey()))
            .map(e -> e.getKey().getName() + " " + Arrays.toString(e.getValue()))
            .sorted()
            .toList();
    assertEquals(List.of(), threadsLeft, "threads the failed start left running");
    Set<String> socketsLeft = openSockets();
    socketsLeft.removeAll(socketsBefore);
    assertEquals(Set.of(), socketsLeft, "sockets the failed start left open");
    assertEquals(List.of(), openFilesUnder(data), "files under the data directory the failed start left open");
    if (Files.exists(data)) {
      deleteTree(data);
    }
    assertFalse(Files.exists(data));
  }

  /**
   * A worker of the JDK's default pool for {@link java.nio.channels.AsynchronousFileChannel}s opened
   * without an executor (the H2 journal's {@code async:} file system): JVM-wide, started on first
   * use, unnamed daemon threads ("Thread-N") that idle up to a minute after the file closed.
   */
  private static boolean isJdkAsyncFileWorker(Thread t) {
    return t.isDaemon() && t.getName().matches("Thread-\\d+") && t.getThreadGroup() != null
        && Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getClassName().equals("java.util.concurrent.ThreadPoolExecutor"))
        && Arrays.stream(t.getStackTrace()).noneMatch(f -> f.getClassName().startsWith("io.ferry") || f.getClassName().startsWith("org.apache.pekko"));
  }

  private static String messageOf(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      b.append(c.getMessage()).append(" / ");
    }
    return b.toString();
  }

  private static Config config(Path data, Ports ports) {
    Map<String, Object> m = new HashMap<>();
    m.put("ferry.member.tier", "cloud");
    m.put("ferry.member.site", "cloud");
    m.put("ferry.member.host", "127.0.0.1");
    m.put("ferry.member.port", ports.artery());
    m.put("ferry.member.seed-nodes", List.of());
    m.put("ferry.member.data-dir", data.toString());
    m.put("ferry.blocks.aeron.port", ports.aeron());
    m.put("ferry.blocks.nbd.port", ports.nbd());
    m.put("ferry.http.port", ports.http());
    return ConfigFactory.parseMap(m);
  }

  private static Set<Long> threadIds() {
    Set<Long> ids = new HashSet<>();
    Thread.getAllStackTraces().keySet().forEach(t -> ids.add(t.getId()));
    return ids;
  }

  /** The targets of this process's file descriptors that are sockets ("socket:[inode]"). */
  private static Set<String> openSockets() throws IOException {
    Set<String> sockets = new HashSet<>();
    for (String target : fdTargets()) {
      if (target.startsWith("socket:")) {
        sockets.add(target);
      }
    }
    return sockets;
  }

  private static List<String> openFilesUnder(Path data) throws IOException {
    if (!Files.exists(data)) {
      return List.of(); // the start failed before it made its data directory
    }
    String prefix = data.toAbsolutePath().toRealPath().toString();
    return fdTargets().stream().filter(t -> t.startsWith(prefix)).sorted().toList();
  }

  private static List<String> fdTargets() throws IOException {
    Path fds = Path.of("/proc/self/fd");
    try (Stream<Path> s = Files.list(fds)) {
      return s.map(
              fd -> {
                try {
                  return Files.readSymbolicLink(fd).toString();
                } catch (IOException gone) {
                  return ""; // closed while listing (the listing's own descriptor among them)
                }
              })
          .toList();
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static InetAddress loopback() {
    return InetAddress.getLoopbackAddress();
  }

  private static ServerSocket tcpBound(int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.bind(new InetSocketAddress(loopback(), port));
    return s;
  }

  private static Closeable tcp(int port) throws IOException {
    return tcpBound(port);
  }

  private static Closeable udp(int port) throws IOException {
    return new DatagramSocket(new InetSocketAddress(loopback(), port));
  }

  /**
   * A free TCP port below the kernel's ephemeral range. A port the kernel hands out itself (bind to
   * 0) can be handed out again as the local port of any outgoing connection of this JVM once it is
   * released, and such a connection then holds it when the test binds it again: CI once saw
   * "Address already in use" here that no member of the test held.
   */
  private static int freeTcp() {
    int low = ephemeralLow();
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = r.nextInt(Math.max(1024, low - 12_000), low);
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(loopback(), port), 1);
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free TCP port below " + low + " after 200 tries");
  }

  private static int ephemeralLow() {
    try {
      // readAllLines, not readString: a /proc file reports size 0, and readString then returns a fragment
      String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim();
      int low = Integer.parseInt(range.split("\\s+")[0]);
      return low > 2048 ? low : 32768;
    } catch (IOException | RuntimeException e) {
      return 32768; // Linux's default
    }
  }

  /** The kernel's sockets on {@code port} (local address, state) from /proc/net/tcp, for a failure's message. */
  private static String holdersOf(int port) {
    String hex = String.format(":%04X", port);
    StringBuilder b = new StringBuilder();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try {
        for (String line : Files.readAllLines(Path.of(table))) {
          String[] f = line.trim().split("\\s+");
          if (f.length > 3 && f[1].endsWith(hex)) {
            b.append(table).append(' ').append(f[1]).append(" -> ").append(f[2]).append(" state ").append(f[3]).append("; ");
          }
        }
      } catch (IOException e) {
        b.append(table).append(" unreadable; ");
      }
    }
    return b.length() == 0 ? "no socket on it" : b.toString();
  }

  private static int freeUdp() {
    try (DatagramSocket s = new DatagramSocket(0, loopback())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
