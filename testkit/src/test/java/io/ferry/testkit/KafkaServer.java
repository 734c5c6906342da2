package io.ferry.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real Apache Kafka broker (KRaft, one node) for Ferry's own ITs, run by the checkout's {@code
 * scripts/kafka} from Maven Central's jars in a forked JVM. Test code shared through testkit's
 * test-jar, like {@link CassandraServer}: it only works inside a checkout. {@link #stop} ends
 * exactly the process the script started (by the PID in its PID file); {@link #kill} sends it
 * SIGKILL, for broker-crash tests.
 */
public final class KafkaServer implements AutoCloseable {

  private final Path script;
  private final Path dir;
  private final int port;

  /** A broker with its files under {@code dir}, on {@code port} (and {@code port + 1} for its controller). */
  public KafkaServer(Path dir, int port) {
    this.script = repositoryRoot().resolve("scripts").resolve("kafka");
    this.dir = dir;
    this.port = port;
  }

  /** Starts a broker on a free pair of ports under {@code dir} and waits until it answers (up to 3 minutes). */
  public static KafkaServer startOnFreePort(Path dir) throws Exception {
    KafkaServer server = new KafkaServer(dir, CassandraServer.freePortPair());
    server.start();
    return server;
  }

  /** host:port, for {@code bootstrap.servers}. */
  public String bootstrap() {
    return "127.0.0.1:" + port;
  }

  public void start() throws Exception {
    run("start", 180);
  }

  public void stop() throws Exception {
    run("stop", 60);
  }

  /** The broker's PID from the script's PID file. */
  public long pid() throws IOException {
    return Long.parseLong(Files.readString(dir.resolve("kafka.pid")).trim());
  }

  /** SIGKILL to the broker (no clean shutdown), then waits until it is gone; {@link #start} brings it back with its data. */
  public void kill() throws Exception {
    ProcessHandle h = ProcessHandle.of(pid()).orElseThrow(() -> new IllegalStateException("the broker is not running"));
    h.destroyForcibly();
    h.onExit().get(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    stop();
  }

  private void run(String command, long timeoutSeconds) throws Exception {
    Files.createDirectories(dir);
    Path log = dir.resolve("script-" + command + ".log");
    ProcessBuilder pb = new ProcessBuilder(List.of(script.toString(), command)).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("FERRY_KAFKA_DIR", dir.toString());
    env.put("FERRY_KAFKA_PORT", Integer.toString(port));
    env.put("FERRY_KAFKA_CONTROLLER_PORT", Integer.toString(port + 1));
    Process p = pb.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("scripts/kafka " + command + " did not finish within " + timeoutSeconds + " s:\n" + CassandraServer.tail(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("scripts/kafka " + command + " failed (exit " + p.exitValue() + "):\n" + CassandraServer.tail(log));
    }
  }

  private static Path repositoryRoot() {
    Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("scripts").resolve("kafka"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("scripts/kafka not found above " + System.getProperty("user.dir"));
    }
    return p;
  }
}
