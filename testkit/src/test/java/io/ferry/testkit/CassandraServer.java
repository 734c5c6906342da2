package io.ferry.testkit;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A real Apache Cassandra for Ferry's own tests, run by the checkout's {@code scripts/cassandra}
 * (Cassandra 5.0 from Maven Central's jars in a forked JVM), found in the working directory or
 * above it. Test code (shared with the cli's ITs through testkit's test-jar), not public testkit:
 * it only works inside a checkout of Ferry. Stop ends exactly the process the script started.
 */
public final class CassandraServer {

  private final Path script;
  private final Path dir;
  private final int port;
  /**
   * Stops the server when the test JVM exits without having stopped it (killed, or its forked
   * tests timed out): the server is a process of its own and would run on after the JVM.
   */
  private final Thread reaper = new Thread(this::stopQuietly, "cassandra-reaper");

  /** A server with its files under {@code dir}, serving CQL on {@code port} (and {@code port + 1} for storage). */
  public CassandraServer(Path dir, int port) {
    this.script = repositoryRoot().resolve("scripts").resolve("cassandra");
    this.dir = dir;
    this.port = port;
  }

  /** host:port, for {@code ferry.persistence.cassandra.contact-points}. */
  public String contactPoint() {
    return "127.0.0.1:" + port;
  }

  /** Starts the server and waits until it answers CQL (up to 5 minutes). */
  public void start() throws Exception {
    try {
      Runtime.getRuntime().addShutdownHook(reaper);
    } catch (IllegalArgumentException alreadyRegistered) {
      // started before and not stopped since
    }
    run("start", 300);
  }

  public void stop() throws Exception {
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException exiting) {
      // the JVM is exiting: the reaper stops it (a hook never added is simply not removed)
    }
    run("stop", 120);
  }

  private void stopQuietly() {
    try {
      run("stop", 60);
    } catch (Exception e) {
      System.err.println("stopping the Cassandra server under " + dir + " at exit failed: " + e.getMessage());
    }
  }

  private void run(String command, long timeoutSeconds) throws Exception {
    Path log = dir.resolve("script-" + command + ".log");
    Files.createDirectories(dir);
    ProcessBuilder pb = new ProcessBuilder(List.of(script.toString(), command)).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("FERRY_CASSANDRA_DIR", dir.toString());
    env.put("FERRY_CASSANDRA_PORT", Integer.toString(port));
    env.put("FERRY_CASSANDRA_STORAGE_PORT", Integer.toString(port + 1));
    Process p = pb.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("scripts/cassandra " + command + " did not finish within " + timeoutSeconds + " s:\n" + tail(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("scripts/cassandra " + command + " failed (exit " + p.exitValue() + "):\n" + tail(log));
    }
  }

  private static Path repositoryRoot() {
    Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("scripts").resolve("cassandra"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("scripts/cassandra not found above " + System.getProperty("user.dir"));
    }
    return p;
  }

  /**
   * A free port whose next port is free too (CQL and storage), below the range the system hands out
   * as local ports of outgoing connections. A server stopped and started again on its ports (the
   * journal-outage IT) must find them free: a port from that range could meanwhile be the local end
   * of some connection (a driver reconnecting to the stopped server), and Cassandra then refused to
   * start ("127.0.0.1:43346 is in use by another process").
   */
  public static int freePortPair() throws IOException {
    int high = ephemeralLow(EPHEMERAL_RANGE) - 2;
    int low = Math.max(1024, high - 16_384);
    return freePortPair(() -> ThreadLocalRandom.current().nextInt(low, high));
  }

  /** Linux's range of local ports for outgoing connections: "low high". */
  static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

  /** The first port the system picks for outgoing connections; 32768 (Linux's default) if it does not say. */
  static int ephemeralLow(Path range) {
    try {
      String[] bounds = Files.readString(range).trim().split("\\s+");
      int low = Integer.parseInt(bounds[0]);
      return low > 1026 ? low : 32768;
    } catch (IOException | RuntimeException unknown) {
      return 32768;
    }
  }

  /** A port to try. */
  interface PortSource {
    int next() throws IOException;
  }

  /** The first port from {@code ports} that is free and whose next port is free too; 50 tries. */
  static int freePortPair(PortSource ports) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int port = ports.next();
      if (port >= 65535) {
        continue; // the last port has no next one
      }
      try (ServerSocket s = new ServerSocket(port); ServerSocket next = new ServerSocket(port + 1)) {
        return port;
      } catch (IOException taken) {
        // try another pair
      }
    }
    throw new IOException("no two free adjacent ports on loopback in 50 tries");
  }

  /** The last 40 lines of a process's log, for failure messages. */
  public static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
