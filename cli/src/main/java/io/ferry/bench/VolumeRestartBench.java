package io.ferry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.testkit.Ext4Images;
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
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The background copy between separate member processes ({@code ferry node}: a registry member,
 * the source's and the target's, sharing an H2 journal) over an emulated link, with the target's
 * member killed (SIGKILL) at a share of the copy and restarted at the same address and data
 * directory. Prints the time from {@code POST /volumes} to COPIED against the time the bytes that
 * crossed need at the link's rate, broken into phases: start-up (until the first block crossed),
 * restart (kill until blocks cross again), copying (bytes crossing, against link rate: pacing) and
 * the tail (last block until COPIED is reported).
 */
final class VolumeRestartBench {
  private static final int BLOCK = 64 * 1024;

  private final Path dir;
  private final String conf;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final List<String> seeds = new ArrayList<>();

  private VolumeRestartBench(Path dir, String conf) {
    this.dir = dir;
    this.conf = conf;
  }

  /** One member process: its ports, data directory, log and handle. */
  private record Member(String site, String tier, int port, int httpPort, Path data, Path log, Process process) {
    String url() {
      return "http://127.0.0.1:" + httpPort;
    }
  }

  /** A status sample: when, the source's bytes and data frames sent, whether the target holds every block. */
  private record Sample(long nanos, long wireBytes, long dataFrames, boolean copied) {}

  /** What one run measured. */
  record Result(
      double totalS, double linkS, long wireBytes, double startupS, double acceptedS, double firstExportS, double killAtPercent,
      double restartS, double jvmS, double nodeS, double placedS, double attachedS, double copyingS, double tailS, double framesResentShare) {
    double ratio() {
      return totalS / linkS;
    }

    double pacingS() {
      return copyingS - linkS;
    }
  }

  static Result run(Path base, int sizeMiB, int rttMs, long mbit, double killAt, String memberConfig) throws Exception {
    Path tree = base.resolve("tree");
    Ext4Images.template(tree, 11, (long) sizeMiB << 19);
    Path image = Ext4Images.ext4(tree, base.resolve("vol-r.img"), sizeMiB);
    String conf = String.join("\n",
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + base.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.blocks.emulate { one-way-delay = " + (rttMs / 2.0) + "ms, bandwidth = \"" + mbit + " Mbit\" }",
        "ferry.blocks.link { rtt = " + rttMs + "ms, bandwidth = \"" + mbit + " Mbit\" }",
        memberConfig);
    VolumeRestartBench b = new VolumeRestartBench(base, conf);
    List<Member> members = new ArrayList<>();
    try {
      Member registry = b.start("edge-b", "edge", 0, 0, null);
      members.add(registry);
      b.awaitUp(registry, Duration.ofSeconds(120));
      Member source = b.start("edge-a", "edge", 0, 0, null);
      members.add(source);
      Member target = b.start("cloud", "cloud", 0, 0, null);
      members.add(target);
      for (Member m : members) {
        b.awaitUp(m, Duration.ofSeconds(120));
      }
      long dataBlocks = VolumeBench.nonZeroBlocks(image).size();
      System.out.printf("three member processes up; %d of %d blocks of the image hold data; %s%n", dataBlocks, sizeMiB * 16L, load());
      String start = "{\"volume\":\"vol-r\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + image + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + "}";
      long t0 = System.nanoTime();
      long t0Wall = System.currentTimeMillis();
      HttpResponse<String> started = b.post(registry, "/volumes", start);
      if (started.statusCode() != 201) {
        throw new IllegalStateException("POST /volumes: " + started.statusCode() + " " + started.body());
      }
      long acceptedNanos = System.nanoTime();
      List<Sample> samples = new ArrayList<>();
      long exportNanos = -1;
      long killNanos = -1;
      long killWallMillis = 0;
      double killPercent = 0;
      long deadline = t0 + TimeUnit.MINUTES.toNanos(30);
      while (true) {
        Optional<JsonNode> st = b.get(registry, "/volumes/vol-r");
        long now = System.nanoTime();
        if (now > deadline) {
          throw new IllegalStateException("vol-r not copied within 30 minutes: " + st);
        }
        if (st.isEmpty()) {
          TimeUnit.MILLISECONDS.sleep(50);
          continue;
        }
        JsonNode s = st.get();
        JsonNode fe = s.path("frontend");
        Sample sample = new Sample(now, wire(s), dataFrames(s), fe.path("complete").asBoolean(false));
        samples.add(sample);
        if (exportNanos < 0 && !s.path("nbdUrl").asText().isEmpty()) {
          exportNanos = now;
        }
        if (killNanos < 0 && sample.dataFrames() >= killAt * dataBlocks) {
          killPercent = 100.0 * sample.dataFrames() / dataBlocks;
          target.process().destroyForcibly();
          target.process().waitFor(30, TimeUnit.SECONDS);
          killNanos = System.nanoTime();
          killWallMillis = System.currentTimeMillis();
          target = b.start("cloud", "cloud", target.port(), target.httpPort(), target.data());
          members.add(target);
          System.out.printf("killed the target's member with %.1f %% of the data blocks sent, %.1f s after the start; restarting it at the same address%n", killPercent, (killNanos - t0) / 1e9);
        }
        if (sample.copied()) {
          break;
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
      long copiedNanos = System.nanoTime();
      Sample last = samples.get(samples.size() - 1);
      long total = last.wireBytes();
      // The phases' edges come from the members' logs (wall clock, milliseconds): a status poll
      // waits on the dead frontend while its member restarts, so polls would blur them by seconds.
      double killS = (killNanos - t0) / 1e9;
      double attachS = logSeconds(source.log(), " attach=", t0Wall);
      double reattachS = killS + logSeconds(source.log(), " attach=", killWallMillis);
      double everyBlockS = killS + logSeconds(target.log(), "every block present", killWallMillis);
      double totalS = (copiedNanos - t0) / 1e9;
      double linkS = total * 8.0 / (mbit * 1_000_000.0);
      String framesSent = b.get(registry, "/volumes/vol-r").map(s -> s.path("backend").path("framesSent").toString()).orElse("?");
      long sentFrames = b.get(registry, "/volumes/vol-r").map(VolumeRestartBench::dataFrames).orElse(last.dataFrames());
      System.out.printf("copied: %d bytes crossed (frames %s; %d data blocks in the image); after the start: first attach %.1f s, kill %.1f s, attach again %.1f s, every block present %.1f s, COPIED seen %.1f s%n",
          total, framesSent, dataBlocks, attachS, killS, reattachS, everyBlockS, totalS);
      return new Result(totalS, linkS, total, attachS, (acceptedNanos - t0) / 1e9, (exportNanos - t0) / 1e9, killPercent,
          reattachS - killS,
          logSeconds(target.log(), "", killWallMillis), logSeconds(target.log(), "management endpoint at", killWallMillis),
          logSeconds(registry.log(), "frontend moves from", killWallMillis), reattachS - killS,
          (killS - attachS) + (everyBlockS - reattachS), totalS - everyBlockS,
          dataBlocks == 0 ? 0 : (double) (sentFrames - dataBlocks) / dataBlocks);
    } finally {
      for (Member m : members) {
        m.process().destroy();
      }
      for (Member m : members) {
        if (!m.process().waitFor(30, TimeUnit.SECONDS)) {
          m.process().destroyForcibly();
        }
      }
    }
  }

  /**
   * Seconds from {@code sinceWallMillis} to the first line of a member's log at or after it that
   * contains {@code text} (logback prints the wall clock's time of day); -1 when there is none.
   */
  private static double logSeconds(Path log, String text, long sinceWallMillis) {
    java.time.ZoneId zone = java.time.ZoneId.systemDefault();
    java.time.LocalDate day = java.time.Instant.ofEpochMilli(sinceWallMillis).atZone(zone).toLocalDate();
    try {
      for (String line : Files.readAllLines(log)) {
        if (line.length() < 12 || !line.contains(text) || !line.matches("^\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d .*")) {
          continue;
        }
        long at = java.time.LocalTime.parse(line.substring(0, 12)).atDate(day).atZone(zone).toInstant().toEpochMilli();
        if (at >= sinceWallMillis) {
          return (at - sinceWallMillis) / 1e3;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  static String load() {
    try {
      return "load average " + Files.readString(Path.of("/proc/loadavg")).trim().split(" ", 4)[0] + " " + Files.readString(Path.of("/proc/loadavg")).trim().split(" ", 4)[1];
    } catch (IOException e) {
      return "load average unknown";
    }
  }

  /** Frames the source sent that carry a block's data or its hash (not ZERO). */
  private static long dataFrames(JsonNode status) {
    long n = 0;
    var it = status.path("backend").path("framesSent").fields();
    while (it.hasNext()) {
      var e = it.next();
      if (!e.getKey().equals("ZERO")) {
        n += e.getValue().asLong();
      }
    }
    return n;
  }

  private static long wire(JsonNode status) {
    long n = 0;
    for (JsonNode v : status.path("backend").path("bytesSent")) {
      n += v.asLong();
    }
    return n;
  }

  /** Starts a member process; port 0 picks free ports and a fresh data directory. */
  private Member start(String site, String tier, int port, int httpPort, Path data) throws IOException {
    int p = port == 0 ? freePort() : port;
    int hp = httpPort == 0 ? freePort() : httpPort;
    Path d = data == null ? dir.resolve("data-" + site + "-" + p) : data;
    if (seeds.size() < 2) {
      seeds.add("\"pekko://ferry@127.0.0.1:" + p + "\"");
    }
    Path file = dir.resolve(site + "-" + p + ".conf");
    Files.writeString(file, String.join("\n",
        "ferry.member { tier = " + tier + ", site = " + site + ", host = \"127.0.0.1\", port = " + p + ",",
        "  seed-nodes = [" + String.join(", ", seeds) + "], data-dir = \"" + d + "\" }",
        "ferry.http.port = " + hp,
        conf));
    Path log = dir.resolve(site + "-" + p + "-" + System.nanoTime() + ".log");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "io.ferry.cli.Main", "node", "--config", file.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    // The phases are read from the members' INFO lines (the application logs io.ferry at WARN by default).
    pb.environment().put("FERRY_LOG", "INFO");
    Process proc = pb.start();
    return new Member(site, tier, p, hp, d, log, proc);
  }

  private void awaitUp(Member m, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!get(m, "/health").map(h -> h.path("status").asText().equals("Up")).orElse(false)) {
      if (!m.process().isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("member " + m.site() + " did not come up; see " + m.log());
      }
      TimeUnit.MILLISECONDS.sleep(200);
    }
  }

  private Optional<JsonNode> get(Member m, String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(10)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(json.readTree(r.body())) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private HttpResponse<String> post(Member m, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
