package io.ferry.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.testkit.CassandraServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Cluster members as separate JVM processes ({@code ferry node --config FILE}), started from the
 * test's own class path; crashed with SIGKILL, stopped with SIGTERM (a graceful leave). Talks to
 * them only over their management endpoints, as an operator would.
 */
final class ProcessCluster implements AutoCloseable {

  /** One member process: its site, ports, log and handle. */
  record Member(String site, int port, int httpPort, Path log, Process process) {
    String address() {
      return "pekko://ferry@127.0.0.1:" + port;
    }

    String url() {
      return "http://127.0.0.1:" + httpPort;
    }
  }

  private final Path dir;
  private final String extraConfig;
  private final Map<String, String> env;
  private final List<Member> members = new ArrayList<>();
  private final List<String> seeds = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();
  /**
   * Kills the member processes still running when the test JVM exits: a member process outlives
   * the JVM that started it, and one left behind by a test that failed before closing its cluster
   * went on loading the machine for every later test (a CI run found seven).
   */
  private final Thread reaper = new Thread(this::killAll, "process-cluster-reaper");

  ProcessCluster(Path dir, String extraConfig) {
    this(dir, extraConfig, Map.of());
  }

  /** @param env added to every member's environment (e.g. {@code FERRY_LOG=INFO} for the log lines a test reads) */
  ProcessCluster(Path dir, String extraConfig, Map<String, String> env) {
    this.dir = dir;
    this.extraConfig = extraConfig;
    this.env = Map.copyOf(env);
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /** Starts a member process at {@code site}; the first two started become the seed nodes. */
  Member start(String site, String tier) throws IOException {
    return start(site, tier, null);
  }

  /**
   * Starts a member again at a killed member's site on its data directory (its block store and
   * whatever else it kept on disk), as a member restarted on the same machine would.
   */
  Member restart(Member killed, String tier) throws IOException {
    return start(killed.site(), tier, dir.resolve("data-" + killed.site() + "-" + killed.port()));
  }

  private Member start(String site, String tier, Path dataDir) throws IOException {
    int port = freePort();
    int httpPort = freePort();
    if (seeds.size() < 2) {
      seeds.add("\"pekko://ferry@127.0.0.1:" + port + "\"");
    }
    String name = site + "-" + port;
    Path conf = dir.resolve(name + ".conf");
    Files.writeString(
        conf,
        String.join(
            "\n",
            "ferry.member { tier = " + tier + ", site = " + site + ", host = \"127.0.0.1\", port = " + port + ",",
            "  seed-nodes = [" + String.join(", ", seeds) + "], data-dir = \"" + (dataDir != null ? dataDir : dir.resolve("data-" + name)) + "\" }",
            "ferry.http.port = " + httpPort,
            extraConfig));
    Path log = dir.resolve(name + ".log");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("--add-opens");
    cmd.add("java.base/sun.nio.ch=ALL-UNNAMED");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.ferry.cli.Main");
    cmd.add("node");
    cmd.add("--config");
    cmd.add(conf.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    Member m = new Member(site, port, httpPort, log, p);
    synchronized (members) {
      members.add(m);
    }
    return m;
  }

  /** Waits until every live member answers /health as Up. */
  void awaitUp(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Member m : live()) {
      while (true) {
        if (!m.process().isAlive()) {
          throw stopAll(new IllegalStateException("member " + m.site() + " exited; its log:\n" + CassandraServer.tail(m.log())));
        }
        Optional<JsonNode> h = get(m, "/health");
        if (h.isPresent() && h.get().path("status").asText().equals("Up")) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw stopAll(new IllegalStateException("member " + m.site() + " did not come up; its log:\n" + CassandraServer.tail(m.log())));
        }
        TimeUnit.MILLISECONDS.sleep(200);
      }
    }
  }

  List<Member> live() {
    synchronized (members) {
      return members.stream().filter(m -> m.process().isAlive()).toList();
    }
  }

  /** Every member started, killed ones too. */
  List<Member> all() {
    synchronized (members) {
      return List.copyOf(members);
    }
  }

  Member at(String address) {
    return live().stream().filter(m -> m.address().equals(address)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no live member at " + address));
  }

  /** kill -9: the member stops at once, mid-write, without leaving. */
  void kill(Member m) throws InterruptedException {
    m.process().destroyForcibly();
    m.process().waitFor(30, TimeUnit.SECONDS);
  }

  /** GET from any live member that answers. */
  Optional<JsonNode> get(String path) {
    for (Member m : live()) {
      Optional<JsonNode> r = get(m, path);
      if (r.isPresent()) {
        return r;
      }
    }
    return Optional.empty();
  }

  Optional<JsonNode> get(Member m, String path) {
    try {
      HttpResponse<String> r =
          http.send(HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(json.readTree(r.body())) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** A node's status field from GET /queries/{q}/status, or empty while no member answers. */
  Optional<JsonNode> nodeStatus(String query, String node) {
    return get("/queries/" + query + "/status").flatMap(all -> {
      for (JsonNode n : all) {
        if (n.path("node").asText().equals(node)) {
          return Optional.of(n);
        }
      }
      return Optional.empty();
    });
  }

  /** The member address a node is placed on, per GET /queries. */
  Optional<String> memberOf(String query, String node) {
    return get("/queries").flatMap(all -> {
      for (JsonNode q : all) {
        if (q.path("query").asText().equals(query)) {
          for (JsonNode n : q.path("nodes")) {
            if (n.path("node").asText().equals(node) && n.path("member").isTextual()) {
              return Optional.of(n.path("member").asText());
            }
          }
        }
      }
      return Optional.empty();
    });
  }

  /**
   * Kills every member and returns {@code failure}: a cluster that never came up is not returned
   * to its caller, so no try-with-resources will close it.
   */
  private IllegalStateException stopAll(IllegalStateException failure) {
    killAll();
    return failure;
  }

  /** SIGKILL every member started, at once: no graceful leave. */
  private void killAll() {
    all().forEach(m -> m.process().destroyForcibly());
  }

  /** SIGTERM every member (coordinated shutdown: a graceful leave), then SIGKILL what remains. */
  @Override
  public void close() throws InterruptedException {
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException exiting) {
      // the JVM is exiting: the reaper runs anyway
    }
    for (Member m : live()) {
      m.process().destroy();
    }
    for (Member m : new ArrayList<>(members)) {
      if (!m.process().waitFor(30, TimeUnit.SECONDS)) {
        m.process().destroyForcibly();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
