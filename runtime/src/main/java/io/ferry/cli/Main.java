package io.ferry.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.ferry.bench.JournalBench;
import io.ferry.bench.MigrationBench;
import io.ferry.bench.PipelineBench;
import io.ferry.bench.VolumeBench;
import io.ferry.placement.MigrationInstruction;
import io.ferry.runtime.FerryNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code ferry} command line. Each command says what it did and exits non-zero on failure. */
public final class Main {

  private static final String USAGE =
      String.join(
          "\n",
          "usage: ferry <command> [options]",
          "",
          "commands:",
          "  demo      run a local cloud + two edge sites cluster with the sample query and check once-only",
          "            --records N   rows per edge source (default 200000)",
          "            --rate R      rows per second per source, 0 = unpaced (default 50000)",
          "            --crash       crash the member hosting window-a mid-stream and start a replacement",
          "            --no-moves    do not move window-a edge-a -> cloud -> edge-a while data flows",
          "            --hold        keep the cluster running after the summary (for ferry status / migrate)",
          "            --data DIR    data directory (default .ferry/demo-<time>)",
          "            --timeout S   give up after S seconds (default 600)",
          "  bench     measure pipeline throughput (1 and 3 members) and latency with every batch journaled",
          "            [ROWS_PER_SOURCE [LATENCY_SECONDS]]  (default 500000 15)",
          "  bench-moves  measure the migration pause edge<->cloud, small and >10 MB window state [MOVES_PER_DIRECTION]",
          "  bench-volume  volume migration over an emulated WAN vs nbdcopy full-copy-first [SIZE_MIB RTT_MS MBIT READS]",
          "  node      run one cluster member in this process until it is stopped (SIGTERM leaves gracefully)",
          "            --config FILE  the member's HOCON: ferry.member (tier, site, host, port, seed-nodes,",
          "                           data-dir), ferry.persistence (journal = h2 | cassandra), ferry.http",
          "  submit    deploy a query to a running cluster through a member's management endpoint",
          "            --file FILE   {\"graph\": <query graph JSON>, \"placement\": {\"node\": \"site\"}}",
          "            --sample      the demo's query instead: --query NAME (readings) --records N (200000)",
          "                          --rate R (5000) --archive PATH (a JSON-lines file sink in the cloud; optional)",
          "            --url URL     a member's management endpoint (default " + ManagementClient.DEFAULT_URL + ")",
          "  status    list the deployed queries of a running cluster: each node's operator, site, member,",
          "            output anchor and state (running, done, paused by a migration)",
          "            --url URL     a member's management endpoint (default " + ManagementClient.DEFAULT_URL + ")",
          "  migrate   move nodes of a running query to another site and wait until the move has ended;",
          "            exits 0 when it COMPLETED, 1 when it was refused or ROLLED_BACK",
          "            --query Q     the query",
          "            --node N      a node to move; repeat to move several together",
          "            --to SITE     the site to move them to",
          "            --url URL     a member's management endpoint (default " + ManagementClient.DEFAULT_URL + ")",
          "  bench-journal  batches/s, rows/s and the recovery time of a 10,000-event node on H2 and Cassandra",
          "            [ROWS_PER_SOURCE [CASSANDRA_HOST:PORT]]  (start Cassandra with scripts/cassandra start)",
          "  volume    start|status|stop a volume migration (the volume is served over NBD at the target while it copies):",
          "            volume start VOL --source-site SITE --path IMAGE --target-site SITE [--block-size BYTES] [--trace FILE] [--url URL]",
          "            volume status VOL [--url URL]    volume stop VOL [--url URL]",
          "  simulate  seeded chaos runs with invariant checkers and reports (the simulator module):",
          "            --scenario FILE (config/scenarios/) --seed N [--runs K] [--tier real-stack|deterministic] [--out DIR]",
          "  help      this text");

  private Main() {}

  public static void main(String[] args) {
    int code;
    try {
      code = run(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("ferry: " + e.getMessage());
      code = 2;
    } catch (Exception e) {
      System.err.println("ferry: " + e);
      e.printStackTrace(System.err);
      code = 1;
    }
    System.exit(code);
  }

  static int run(List<String> args) throws Exception {
    Deque<String> a = new ArrayDeque<>(args);
    String command = a.isEmpty() ? "help" : a.poll();
    switch (command) {
      case "demo":
        return demo(a);
      case "status":
        return status(a);
      case "node":
        return node(a);
      case "submit":
        return submit(a);
      case "migrate":
        return migrate(a);
      case "volume":
        return volume(a);
      case "bench":
        PipelineBench.main(a.toArray(String[]::new));
        return 0;
      case "bench-journal":
        JournalBench.main(a.toArray(String[]::new));
        return 0;
      case "bench-moves":
        MigrationBench.main(a.toArray(String[]::new));
        return 0;
      case "bench-volume":
        VolumeBench.main(a.toArray(String[]::new));
        return 0;
      case "help":
      case "--help":
      case "-h":
        System.out.println(USAGE);
        return 0;
      default:
        throw new IllegalArgumentException("unknown command '" + command + "'\n" + USAGE);
    }
  }

  private static int demo(Deque<String> a) throws Exception {
    long records = 200_000;
    long rate = 50_000;
    boolean crash = false;
    boolean moves = true;
    boolean hold = false;
    Path data = Path.of(".ferry", "demo-" + System.currentTimeMillis());
    long timeout = 600;
    while (!a.isEmpty()) {
      String opt = a.poll();
      switch (opt) {
        case "--records" -> records = positive(opt, value(opt, a));
        case "--rate" -> rate = nonNegative(opt, value(opt, a));
        case "--crash" -> crash = true;
        case "--no-moves" -> moves = false;
        case "--hold" -> hold = true;
        case "--data" -> data = Path.of(value(opt, a));
        case "--timeout" -> timeout = positive(opt, value(opt, a));
        default -> throw new IllegalArgumentException("demo: unknown option '" + opt + "'\n" + USAGE);
      }
    }
    Demo.Result result = new Demo(new Demo.Options(records, rate, crash, moves, hold, data, Duration.ofSeconds(timeout)), System.out).run();
    return result.ok() ? 0 : 1;
  }

  private static int node(Deque<String> a) throws Exception {
    Path file = null;
    while (!a.isEmpty()) {
      String opt = a.poll();
      if (!opt.equals("--config")) {
        throw new IllegalArgumentException("node: unknown option '" + opt + "'\n" + USAGE);
      }
      file = Path.of(value(opt, a));
    }
    if (file == null) {
      throw new IllegalArgumentException("node needs --config FILE: the member's configuration (see config/)");
    }
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("node: cannot read the configuration file " + file.toAbsolutePath());
    }
    Config config;
    try {
      config = ConfigFactory.parseFile(file.toFile()).resolve();
    } catch (ConfigException e) {
      throw new IllegalArgumentException("node: " + file + " is not valid HOCON: " + e.getMessage());
    }
    if (!config.hasPath("ferry.member")) {
      throw new IllegalArgumentException("node: " + file + " has no ferry.member section (tier, site, host, port, seed-nodes, data-dir)");
    }
    FerryNode member = FerryNode.start(config);
    System.out.printf("ferry node: member %s roles %s journal %s management %s%n", member.address(), member.settings().roles(),
        member.system().settings().config().getString("ferry.persistence.journal"), member.httpUrl().orElse("off"));
    System.out.flush();
    member.system().getWhenTerminated().toCompletableFuture().join();
    return 0;
  }

  private static int submit(Deque<String> a) throws Exception {
    String url = ManagementClient.DEFAULT_URL;
    Path file = null;
    boolean sample = false;
    String query = SampleQuery.QUERY;
    long records = 200_000;
    long rate = 5_000;
    Path archive = null;
    while (!a.isEmpty()) {
      String opt = a.poll();
      switch (opt) {
        case "--file" -> file = Path.of(value(opt, a));
        case "--sample" -> sample = true;
        case "--query" -> query = value(opt, a);
        case "--records" -> records = positive(opt, value(opt, a));
        case "--rate" -> rate = nonNegative(opt, value(opt, a));
        case "--archive" -> archive = Path.of(value(opt, a)).toAbsolutePath();
        case "--url" -> url = value(opt, a);
        default -> throw new IllegalArgumentException("submit: unknown option '" + opt + "'\n" + USAGE);
      }
    }
    if (sample == (file != null)) {
      throw new IllegalArgumentException("submit needs exactly one of --file FILE or --sample");
    }
    String body;
    if (sample) {
      var mapper = JsonMapper.builder().build();
      body = mapper.writeValueAsString(
          Map.of("graph", SampleQuery.graph(query, records, rate, archive), "placement", SampleQuery.placement(archive != null).sites()));
    } else {
      body = Files.readString(file);
    }
    ManagementClient client = new ManagementClient(url, System.out, System.err);
    String payload = body;
    return explained(() -> client.submit(payload));
  }

  private static int status(Deque<String> a) {
    String url = ManagementClient.DEFAULT_URL;
    while (!a.isEmpty()) {
      String opt = a.poll();
      if (!opt.equals("--url")) {
        throw new IllegalArgumentException("status: unknown option '" + opt + "'\n" + USAGE);
      }
      url = value(opt, a);
    }
    ManagementClient client = new ManagementClient(url, System.out, System.err);
    return explained(() -> client.status());
  }

  private static int migrate(Deque<String> a) {
    String url = ManagementClient.DEFAULT_URL;
    String query = null;
    String to = null;
    List<String> nodes = new ArrayList<>();
    while (!a.isEmpty()) {
      String opt = a.poll();
      switch (opt) {
        case "--query" -> query = value(opt, a);
        case "--node" -> nodes.add(value(opt, a));
        case "--to" -> to = value(opt, a);
        case "--url" -> url = value(opt, a);
        default -> throw new IllegalArgumentException("migrate: unknown option '" + opt + "'\n" + USAGE);
      }
    }
    if (query == null) {
      throw new IllegalArgumentException("migrate needs --query Q: the query whose nodes move");
    }
    if (nodes.isEmpty()) {
      throw new IllegalArgumentException("migrate needs at least one --node N: the node(s) to move");
    }
    if (to == null) {
      throw new IllegalArgumentException("migrate needs --to SITE: the site to move the nodes to");
    }
    ManagementClient client = new ManagementClient(url, System.out, System.err);
    MigrationInstruction instruction = MigrationInstruction.of(query, nodes, to);
    return explained(() -> client.migrate(instruction));
  }

  private static int volume(Deque<String> a) {
    String verb = a.isEmpty() ? "" : a.poll();
    String url = ManagementClient.DEFAULT_URL;
    Map<String, Object> request = new LinkedHashMap<>();
    String volume = null;
    while (!a.isEmpty()) {
      String opt = a.poll();
      switch (opt) {
        case "--volume" -> volume = value(opt, a);
        case "--source-site" -> request.put("sourceSite", value(opt, a));
        case "--path" -> request.put("sourcePath", value(opt, a));
        case "--target-site" -> request.put("targetSite", value(opt, a));
        case "--block-size" -> request.put("blockSize", positive(opt, value(opt, a)));
        case "--trace" -> request.put("trace", value(opt, a));
        case "--url" -> url = value(opt, a);
        default -> {
          if (opt.startsWith("--") || volume != null) {
            throw new IllegalArgumentException("volume: unknown option '" + opt + "'\n" + USAGE);
          }
          volume = opt;
        }
      }
    }
    if (volume == null) {
      throw new IllegalArgumentException("volume " + verb + " needs a volume id (--volume ID or as the last word)");
    }
    ManagementClient client = new ManagementClient(url, System.out, System.err);
    String id = volume;
    switch (verb) {
      case "start" -> {
        for (String need : List.of("sourceSite", "sourcePath", "targetSite")) {
          if (!request.containsKey(need)) {
            throw new IllegalArgumentException("volume start needs --source-site SITE, --path IMAGE and --target-site SITE");
          }
        }
        request.put("volume", id);
        return explained(() -> client.volumeStart(request));
      }
      case "status" -> {
        return explained(() -> client.volumeStatus(id));
      }
      case "stop" -> {
        return explained(() -> client.volumeStop(id));
      }
      default -> throw new IllegalArgumentException("volume takes start, status or stop, got '" + verb + "'\n" + USAGE);
    }
  }

  private interface ClientCall {
    int run() throws ManagementClient.Failed;
  }

  /** Runs a client command; a failure it has explained prints its message and exits 1. */
  private static int explained(ClientCall call) {
    try {
      return call.run();
    } catch (ManagementClient.Failed e) {
      System.err.println("ferry: " + e.getMessage());
      return 1;
    }
  }

  private static String value(String opt, Deque<String> a) {
    if (a.isEmpty()) {
      throw new IllegalArgumentException(opt + " needs a value");
    }
    return a.poll();
  }

  private static long positive(String opt, String v) {
    long n = nonNegative(opt, v);
    if (n == 0) {
      throw new IllegalArgumentException(opt + " must be positive, got " + v);
    }
    return n;
  }

  private static long nonNegative(String opt, String v) {
    try {
      long n = Long.parseLong(v);
      if (n < 0) {
        throw new IllegalArgumentException(opt + " must not be negative, got " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(opt + " takes a number, got '" + v + "'");
    }
  }
}
