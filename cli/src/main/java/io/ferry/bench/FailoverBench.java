package io.ferry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.cli.Main;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.simulator.check.SingleOwnerCheck;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.SampleQuery;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Failover after a crash, between member processes: four {@code ferry node} JVMs on loopback (the
 * cloud, two at edge-a, one at edge-b; the embedded H2 journal served by the cloud member) run the
 * demo's query; the member that hosts {@code window-a} is killed with SIGKILL and started again
 * with the same configuration (same address) a second later, {@code kills} times. Per kill it
 * measures the time from the kill until every node the victim hosted has output a new row at its
 * new member (read from the members' {@code /metrics}), and splits it by the members' log lines:
 * unreachable, downed, removed, re-placed, instance started. After the run it checks, on the real
 * run's history, that no node ran at two members at once (the simulator's {@link SingleOwnerCheck}
 * over the members' lifecycle lines, a killed instance counted as running until its kill) and that
 * the archive holds every window result exactly once ({@link OnceOnlyChecker}).
 */
public final class FailoverBench {

  /** Rows per second each edge source emits; with a 2 ms event-time step a window closes every 200 ms. */
  static final long RATE = 2_500;
  private static final String QUERY = "failover";
  private static final Duration UP_TIMEOUT = Duration.ofSeconds(180);
  private static final Duration FAILOVER_TIMEOUT = Duration.ofSeconds(120);
  private static final long POLL_MS = 50;
  private static final Pattern TIME = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");
  private static final Pattern LIFECYCLE = Pattern.compile("entity=(\\S+) instance=(\\S+) (started|stopped) at=(\\S+) epochMs=(\\d+)");
  private static final Pattern OUTPUT_ROWS = Pattern.compile("^ferry_node_output_rows_total\\{(.*)} ([0-9.E+]+)$");

  /**
   * One kill: the victim's address, the nodes it hosted, when it was killed, and the wall-clock
   * milliseconds after the kill at which each step was first seen (absent: not seen).
   */
  public record Kill(String victim, List<String> nodes, long killedAtMs, long failoverMs, Map<String, Long> steps, Map<String, String> nowAt) {}

  /** The whole run: its kills, the node instances' intervals and both checks' verdicts. */
  public record Result(List<Kill> kills, List<SingleOwnerCheck.Interval> instances, List<String> overlaps, OnceOnlyChecker.Verdict onceOnly) {
    public boolean ok() {
      return overlaps.isEmpty() && onceOnly.ok();
    }
  }

  private FailoverBench() {}

  public static void main(String[] args) throws Exception {
    int kills = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    String extra = args.length > 1 ? args[1] : "";
    Path dir = Files.createTempDirectory("ferry-failover-bench");
    PrintStream out = System.out;
    out.printf("ferry failover benchmark: %d kills -9 (restart after 1 s, same address), 4 member processes on loopback, H2 journal in %s%n", kills, dir);
    out.printf("load average before: %.2f%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    Result r = run(dir, kills, 1_000, extra, out);
    print(r, out);
    out.printf("load average after: %.2f%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    if (!r.ok()) {
      System.exit(1);
    }
  }

  /** Prints one line per kill and the p50/max; the steps are milliseconds after the kill. */
  public static void print(Result r, PrintStream out) {
    List<Long> times = new ArrayList<>();
    for (Kill k : r.kills()) {
      times.add(k.failoverMs());
      out.printf("kill %s  nodes %s  first new output after %d ms  steps %s  now at %s%n", k.victim(), k.nodes(), k.failoverMs(), k.steps(), k.nowAt());
    }
    times.sort(Long::compare);
    if (!times.isEmpty()) {
      out.printf("failover kill -9 -> first new output: n=%d p50=%d max=%d ms (goal <= 5000)%n", times.size(), times.get((times.size() - 1) / 2), times.get(times.size() - 1));
      out.printf("median steps (ms after the kill, over the kills that logged each): %s%n", medianSteps(r.kills()));
    }
    out.printf("single owner: %s%n", r.overlaps().isEmpty() ? r.instances().size() + " instances, no overlap" : r.overlaps());
    out.printf("once-only: %s%n", r.onceOnly());
  }

  /**
   * Runs the scenario in {@code dir}.
   *
   * @param restartDelayMs how long a killed member stays down before it is started again
   * @param extraConfig HOCON added to every member's file (e.g. {@code ferry.failover.network = wan})
   */
  public static Result run(Path dir, int kills, long restartDelayMs, String extraConfig, PrintStream out) throws Exception {
    Path archive = dir.resolve("archive.jsonl");
    // Long enough for every kill to fail over and the member to come back, then it ends.
    long seconds = 60 + kills * 45L;
    long records = RATE * seconds;
    String conf = String.join("\n",
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.security.allow-insecure = on",
        extraConfig);
    List<Kill> done = new ArrayList<>();
    Map<String, Long> killedAt = new HashMap<>();
    try (Members members = new Members(dir, conf)) {
      Members.Member cloud = members.start("cloud", "cloud");
      members.awaitUp(cloud);
      List<Members.Member> edges = new ArrayList<>();
      for (String site : new String[] {"edge-a", "edge-a", "edge-b"}) {
        Members.Member m = members.start(site, "edge");
        members.awaitUp(m);
        edges.add(m);
      }
      int code = Main.run(List.of("submit", "--sample", "--query", QUERY, "--records", Long.toString(records), "--rate", Long.toString(RATE),
          "--archive", archive.toString(), "--url", cloud.url()));
      if (code != 0) {
        throw new IllegalStateException("submit failed: " + code);
      }
      awaitOutputs(members, List.of("window-a", "window-b"), Map.of(), Duration.ofSeconds(120));
      for (int i = 0; i < kills; i++) {
        String victimAddress = members.placement(QUERY).get("window-a");
        Members.Member victim = members.at(victimAddress);
        List<String> nodes = new ArrayList<>();
        members.placement(QUERY).forEach((node, at) -> {
          if (at.equals(victimAddress)) {
            nodes.add(node);
          }
        });
        Map<String, Double> baseline = members.outputRows(nodes, victim);
        long t0 = System.currentTimeMillis();
        members.kill(victim);
        killedAt.put(victim.log().toString(), t0);
        TimeUnit.MILLISECONDS.sleep(restartDelayMs);
        members.restart(victim);
        long firstOutput = awaitOutputs(members, nodes, baseline, FAILOVER_TIMEOUT);
        Map<String, String> placement = members.placement(QUERY);
        Map<String, String> nowAt = new TreeMap<>();
        nodes.forEach(n -> nowAt.put(n, placement.get(n).equals(victimAddress) ? "restarted " + victimAddress : placement.get(n)));
        done.add(new Kill(victimAddress, nodes, t0, firstOutput - t0, Map.of(), nowAt));
        out.printf("kill %d of %d: %s hosted %s; first new output after %d ms%n", i + 1, kills, victimAddress, nodes, firstOutput - t0);
        members.awaitUp(victim);
        // The failure detector's heartbeat history of the new incarnation settles before the next kill.
        TimeUnit.SECONDS.sleep(5);
      }
      awaitDone(members, Duration.ofSeconds(seconds + 300));
      List<Kill> withSteps = new ArrayList<>();
      for (Kill k : done) {
        withSteps.add(new Kill(k.victim(), k.nodes(), k.killedAtMs(), k.failoverMs(), steps(members, k), k.nowAt()));
      }
      List<SingleOwnerCheck.Interval> instances = instances(members.logs(), killedAt);
      QueryGraph graph = SampleQuery.graph(QUERY, records, RATE, archive);
      List<Row> expected = ReferenceRun.run(graph, 100_000_000).get(new NodeId(SampleQuery.SINK));
      OnceOnlyChecker.Verdict onceOnly = OnceOnlyChecker.check(expected, SampleQuery.readArchive(graph, archive));
      return new Result(withSteps, instances, SingleOwnerCheck.overlaps(instances), onceOnly);
    }
  }

  /** Returns the wall-clock millisecond at which every one of {@code nodes} has output more rows than its baseline. */
  private static long awaitOutputs(Members members, List<String> nodes, Map<String, Double> baseline, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, Long> firstAt = new HashMap<>();
    while (firstAt.size() < nodes.size()) {
      for (Members.Member m : members.live()) {
        Map<String, Double> rows = members.rowsAt(nodes, m);
        long now = System.currentTimeMillis();
        rows.forEach((node, n) -> {
          if (n > baseline.getOrDefault(m.incarnation() + "|" + node, 0.0)) {
            firstAt.putIfAbsent(node, now);
          }
        });
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no new output from " + nodes + " within " + timeout + " (seen: " + firstAt.keySet() + ")");
      }
      TimeUnit.MILLISECONDS.sleep(POLL_MS);
    }
    return firstAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
  }

  private static void awaitDone(Members members, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<JsonNode> status = members.get("/queries/" + QUERY + "/status");
      if (status.isPresent()) {
        for (JsonNode n : status.get()) {
          if (n.path("node").asText().equals(SampleQuery.ARCHIVE) && n.path("done").asBoolean()) {
            return;
          }
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the archive did not finish within " + timeout);
      }
      TimeUnit.SECONDS.sleep(1);
    }
  }

  /** Each step's median over the kills that logged it: under load they say more than the totals. */
  static Map<String, Long> medianSteps(List<Kill> kills) {
    Map<String, List<Long>> all = new LinkedHashMap<>();
    for (Kill k : kills) {
      k.steps().forEach((step, ms) -> all.computeIfAbsent(step, x -> new ArrayList<>()).add(ms));
    }
    Map<String, Long> out = new LinkedHashMap<>();
    all.forEach(
        (step, ms) -> {
          ms.sort(Long::compare);
          out.put(step + "(" + ms.size() + ")", ms.get((ms.size() - 1) / 2));
        });
    return out;
  }

  /** The first time after the kill each step appears in any member's log, in ms after the kill. */
  private static Map<String, Long> steps(Members members, Kill k) throws IOException {
    String v = k.victim();
    Map<String, Pattern> marks = new LinkedHashMap<>();
    String q = Pattern.quote(v);
    // WARN lines, so that they are there without Pekko's INFO ones.
    marks.put("unreachable", Pattern.compile(Pattern.quote("Marking node as UNREACHABLE [Member(" + v + ",")));
    marks.put("downed", Pattern.compile("SBR took decision \\S+ and is downing \\[[^\\]]*" + q + "|member " + q + " (?:is unreachable|refused the leader's sweep) and refuses"));
    marks.put("removed", Pattern.compile("Association to \\[" + q + "\\] with UID .* Reason: Cluster member removed"));
    List<String> nodeAlternatives = k.nodes().stream().map(n -> Pattern.quote(QUERY + "/" + n)).toList();
    String anyNode = "(?:" + String.join("|", nodeAlternatives) + ")";
    marks.put("replaced", Pattern.compile("node=" + anyNode + " placed at \\S+ \\(was " + Pattern.quote(v) + "\\)"));
    marks.put("released", Pattern.compile(Pattern.quote(v + "/system/sharding/") + "\\S* is gone with its member"));
    Map<String, Long> out = new LinkedHashMap<>();
    for (Map.Entry<String, Pattern> e : marks.entrySet()) {
      // A line after the first new output is a later kill's (the removal line is missing when the
      // new incarnation took the association over first).
      firstAfter(members, e.getValue(), k.killedAtMs())
          .filter(t -> t - k.killedAtMs() <= k.failoverMs())
          .ifPresent(t -> out.put(e.getKey(), t - k.killedAtMs()));
    }
    // Every node of the victim started again (the last of them): lifecycle lines carry their own millisecond.
    long started = -1;
    for (String node : k.nodes()) {
      long first = Long.MAX_VALUE;
      for (Path log : members.logs()) {
        for (String line : Files.readAllLines(log)) {
          Matcher m = LIFECYCLE.matcher(line);
          if (m.find() && m.group(1).equals(QUERY + "/" + node) && m.group(3).equals("started")) {
            long at = Long.parseLong(m.group(5));
            if (at >= k.killedAtMs()) {
              first = Math.min(first, at);
            }
          }
        }
      }
      if (first != Long.MAX_VALUE) {
        started = Math.max(started, first);
      }
    }
    if (started >= 0) {
      out.put("started", started - k.killedAtMs());
    }
    out.put("output", k.failoverMs());
    return out;
  }

  private static Optional<Long> firstAfter(Members members, Pattern p, long afterMs) throws IOException {
    long best = Long.MAX_VALUE;
    LocalDate today = LocalDate.now();
    for (Path log : members.logs()) {
      for (String line : Files.readAllLines(log)) {
        if (!p.matcher(line).find()) {
          continue;
        }
        Matcher t = TIME.matcher(line);
        if (t.find()) {
          long at = LocalTime.parse(t.group(1)).atDate(today).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
          if (at >= afterMs - 1) {
            best = Math.min(best, at);
          }
        }
      }
    }
    return best == Long.MAX_VALUE ? Optional.empty() : Optional.of(best);
  }

  /**
   * Every node instance's interval from the lifecycle lines: started to stopped; an instance of a
   * killed incarnation runs until its kill, one still running until the end of time.
   */
  static List<SingleOwnerCheck.Interval> instances(List<Path> logs, Map<String, Long> killedAt) throws IOException {
    List<SingleOwnerCheck.Interval> out = new ArrayList<>();
    for (Path log : logs) {
      Map<String, long[]> open = new LinkedHashMap<>();
      Map<String, String> entityOf = new HashMap<>();
      for (String line : Files.readAllLines(log)) {
        Matcher m = LIFECYCLE.matcher(line);
        if (!m.find() || !m.group(1).startsWith(QUERY + "/")) {
          continue;
        }
        String instance = m.group(2);
        long at = Long.parseLong(m.group(5)) * 1000;
        if (m.group(3).equals("started")) {
          open.put(instance, new long[] {at});
          entityOf.put(instance, m.group(1));
        } else if (open.containsKey(instance)) {
          out.add(new SingleOwnerCheck.Interval(m.group(1), instance, open.remove(instance)[0], at));
        }
      }
      Long killed = killedAt.get(log.toString());
      long end = killed == null ? Long.MAX_VALUE : killed * 1000;
      open.forEach((instance, start) -> out.add(new SingleOwnerCheck.Interval(entityOf.get(instance), instance, start[0], Math.max(start[0], end))));
    }
    return out;
  }

  /** Member processes ({@code ferry node --config FILE}) from this JVM's class path, one log per incarnation. */
  static final class Members implements AutoCloseable {

    /** A member: its fixed address and configuration, and its current process. */
    static final class Member {
      private final String site;
      private final int port;
      private final int httpPort;
      private final Path conf;
      private Process process;
      private Path log;
      private int incarnation;

      Member(String site, int port, int httpPort, Path conf) {
        this.site = site;
        this.port = port;
        this.httpPort = httpPort;
        this.conf = conf;
      }

      String address() {
        return "pekko://ferry@127.0.0.1:" + port;
      }

      String url() {
        return "http://127.0.0.1:" + httpPort;
      }

      String incarnation() {
        return address() + "#" + incarnation;
      }

      Path log() {
        return log;
      }

      boolean alive() {
        return process != null && process.isAlive();
      }
    }

    private final Path dir;
    private final String extraConfig;
    private final String seed;
    private final List<Member> members = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ObjectMapper json = new ObjectMapper();

    Members(Path dir, String extraConfig) throws IOException {
      this.dir = dir;
      this.extraConfig = extraConfig;
      this.seed = "pekko://ferry@127.0.0.1:" + freePort();
    }

    /** Starts a member; the first one started is the seed (keep it alive: it serves the H2 journal too). */
    Member start(String site, String tier) throws IOException {
      int port = members.isEmpty() ? Integer.parseInt(seed.substring(seed.lastIndexOf(':') + 1)) : freePort();
      int httpPort = freePort();
      String name = site + "-" + port;
      Path conf = dir.resolve(name + ".conf");
      Files.writeString(conf, String.join("\n",
          "ferry.member { tier = " + tier + ", site = " + site + ", host = \"127.0.0.1\", port = " + port + ",",
          "  seed-nodes = [\"" + seed + "\"], data-dir = \"" + dir.resolve("data-" + name) + "\" }",
          "ferry.http.port = " + httpPort,
          extraConfig));
      Member m = new Member(site, port, httpPort, conf);
      members.add(m);
      launch(m);
      return m;
    }

    /** The same member again: same configuration, same address, a new incarnation. */
    void restart(Member m) throws IOException {
      launch(m);
    }

    private void launch(Member m) throws IOException {
      m.incarnation++;
      m.log = dir.resolve(m.site + "-" + m.port + "-" + m.incarnation + ".log");
      synchronized (logs) {
        logs.add(m.log);
      }
      List<String> cmd = List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-XX:+UseSerialGC",
          "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
          "io.ferry.cli.Main", "node", "--config", m.conf.toString());
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(m.log.toFile());
      // The lifecycle lines (single-owner history) and the cluster's own (failover steps).
      pb.environment().put("FERRY_LOG", "INFO");
      pb.environment().put("FERRY_PEKKO_LOG", "INFO");
      m.process = pb.start();
    }

    /** kill -9. */
    void kill(Member m) throws InterruptedException {
      m.process.destroyForcibly();
      if (!m.process.waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("member " + m.address() + " did not die");
      }
    }

    void awaitUp(Member m) throws InterruptedException, IOException {
      long deadline = System.nanoTime() + UP_TIMEOUT.toNanos();
      while (!get(m, "/health").map(h -> h.path("status").asText().equals("Up")).orElse(false)) {
        if (!m.alive()) {
          throw new IllegalStateException("member " + m.address() + " exited; see " + m.log);
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("member " + m.address() + " did not come up within " + UP_TIMEOUT + "; see " + m.log);
        }
        TimeUnit.MILLISECONDS.sleep(200);
      }
    }

    List<Member> live() {
      return members.stream().filter(Member::alive).toList();
    }

    Member at(String address) {
      return members.stream().filter(m -> m.address().equals(address)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no member at " + address));
    }

    List<Path> logs() {
      synchronized (logs) {
        return List.copyOf(logs);
      }
    }

    /** node → member address, per GET /queries. */
    Map<String, String> placement(String query) {
      Map<String, String> out = new TreeMap<>();
      get("/queries").ifPresent(all -> {
        for (JsonNode q : all) {
          if (q.path("query").asText().equals(query)) {
            for (JsonNode n : q.path("nodes")) {
              if (n.path("member").isTextual()) {
                out.put(n.path("node").asText(), n.path("member").asText());
              }
            }
          }
        }
      });
      return out;
    }

    /** Output rows of {@code nodes} at every live member but {@code except}, keyed incarnation|node. */
    Map<String, Double> outputRows(List<String> nodes, Member except) {
      Map<String, Double> out = new HashMap<>();
      for (Member m : live()) {
        if (m != except) {
          rowsAt(nodes, m).forEach((node, n) -> out.put(m.incarnation() + "|" + node, n));
        }
      }
      return out;
    }

    /** node → output rows at member {@code m}, from its Prometheus metrics. */
    Map<String, Double> rowsAt(List<String> nodes, Member m) {
      Map<String, Double> out = new HashMap<>();
      String body = getText(m, "/metrics").orElse("");
      for (String line : body.split("\n")) {
        Matcher x = OUTPUT_ROWS.matcher(line);
        if (x.find() && x.group(1).contains("query=\"" + QUERY + "\"")) {
          for (String node : nodes) {
            if (x.group(1).contains("node=\"" + node + "\"")) {
              out.put(node, Double.parseDouble(x.group(2)));
            }
          }
        }
      }
      return out;
    }

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
      return getText(m, path).flatMap(body -> {
        try {
          return Optional.of(json.readTree(body));
        } catch (IOException e) {
          return Optional.empty();
        }
      });
    }

    private Optional<String> getText(Member m, String path) {
      try {
        HttpResponse<String> r = http.send(
            HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(5)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 200 ? Optional.of(r.body()) : Optional.empty();
      } catch (IOException e) {
        return Optional.empty();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
    }

    /** SIGTERM every member (a graceful leave), then SIGKILL what remains. */
    @Override
    public void close() throws InterruptedException {
      for (Member m : live()) {
        m.process.destroy();
      }
      for (Member m : members) {
        if (m.process != null && !m.process.waitFor(30, TimeUnit.SECONDS)) {
          m.process.destroyForcibly();
        }
      }
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0)) {
        return s.getLocalPort();
      }
    }
  }
}
