package io.ferry.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real Apache Cassandra for tests, run by the repository's {@code scripts/cassandra} (Cassandra
 * 5.0 from Maven Central's jars in a forked JVM). Stop ends exactly the process the script started.
 */
final class CassandraServer {

  private final Path script;
  private final Path dir;
  private final int port;

  CassandraServer(Path dir, int port) {
    this.script = repositoryRoot().resolve("scripts").resolve("cassandra");
    this.dir = dir;
    this.port = port;
  }

  String contactPoint() {
    return "127.0.0.1:" + port;
  }

  void start() throws Exception {
    run("start", 300);
  }

  void stop() throws Exception {
    run("stop", 120);
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
      throw new IllegalStateException("scripts/cassandra " + command + " did not finish within " + timeoutSeconds + " s:\n" + ProcessCluster.tail(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("scripts/cassandra " + command + " failed (exit " + p.exitValue() + "):\n" + ProcessCluster.tail(log));
    }
  }

  static Path repositoryRoot() {
    Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("scripts").resolve("cassandra"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("scripts/cassandra not found above " + System.getProperty("user.dir"));
    }
    return p;
  }

  static int freePortPair() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int port;
      try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
        port = s.getLocalPort();
      }
      try (java.net.ServerSocket s = new java.net.ServerSocket(port + 1)) {
        return port;
      } catch (IOException taken) {
        // try another pair
      }
    }
    throw new IOException("no two free adjacent ports on loopback");
  }
}
