package io.ferry.cli;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.NodeStatus;
import io.ferry.api.Placement;
import io.ferry.api.SinkRows;
import io.ferry.api.SqlDeployment;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.node.LogicNode;
import io.ferry.query.ops.Operators;
import io.ferry.query.ops.SourceReader;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.SampleQuery;
import io.ferry.transport.nbd.NbdClient;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code ferry demo}: a cloud member and two edge sites, each its own ActorSystem on loopback,
 * run the sample query; progress every second; at the end the sinks are checked against the same
 * query run in one thread without the cluster. By default the planner places the query (only its
 * sources and sinks are named) and, while data flows, edge-a's capacity drops and comes back: the
 * placement manager moves window-a edge-a → cloud and back by itself, and its decision lines are
 * printed. With {@code --manual} (and with SQL) every site is named and window-a is moved by hand.
 * With {@code --crash} the member hosting window-a is also crashed mid-stream and replaced.
 * Alongside, a disk image migrates edge-a → cloud: read over NBD at the target before it is
 * copied, and compared with the source at the end.
 */
public final class Demo {

  /**
   * @param sql an SQL file to run instead of the sample query (its generator sources take recordsPerSite and ratePerSite)
   * @param auto the planner places the sample query and the placement manager moves it (not with sql); with
   *     {@code moves} false it only places it
   */
  public record Options(
      long recordsPerSite, long ratePerSite, boolean crash, boolean moves, boolean hold, Path dataDir, Duration timeout, Optional<Path> sql,
      boolean auto) {}

  /** In automatic mode sources are paced to at most this, so the manager's moves happen while data flows. */
  static final long AUTO_RATE_MAX = 5_000;

  /** What a demo run measured; {@code ok()} when every sink is once-only (an SQL query may have no archive). */
  public record Result(
      long recordsIn, long recordsOut, OnceOnlyChecker.Verdict sink, Optional<OnceOnlyChecker.Verdict> archive, boolean volumeIdentical) {
    public boolean ok() {
      return sink.ok() && archive.map(OnceOnlyChecker.Verdict::ok).orElse(true) && volumeIdentical;
    }
  }

  /**
   * The query the demo runs and the nodes it watches: the one it moves (a node at edge-a), the sink it
   * reads and checks, the archive file sink if there is one.
   */
  record Plan(QueryGraph graph, Placement placement, NodeId moved, NodeId sink, Optional<NodeId> archive) {}

  private static final Set<String> SITES = Set.of("cloud", "edge-a", "edge-b");

  private static final String VOLUME = "demo-disk";
  private static final int VOLUME_MIB = 64;

  private final Options options;
  private final PrintStream out;

  public Demo(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  /** The sample query, or the SQL file compiled; throws {@link QueryException} (with line and column) for SQL the demo cannot run. */
  static Plan plan(Options options, Path archive) throws java.io.IOException {
    if (options.sql().isEmpty()) {
      QueryGraph graph = SampleQuery.graph(SampleQuery.QUERY, options.recordsPerSite(), options.ratePerSite(), archive);
      return new Plan(graph, SampleQuery.placement(true), new NodeId("window-a"), new NodeId(SampleQuery.SINK), Optional.of(new NodeId(SampleQuery.ARCHIVE)));
    }
    SqlDeployment.Planned planned =
        SqlDeployment.plan("sql", Files.readString(options.sql().get()), new QueryId(SampleQuery.QUERY), Map.of());
    // The SQL's generators run at the demo's size and pace, so the moves happen while data flows.
    List<NodeDef> nodes = new ArrayList<>();
    for (NodeDef n : planned.compiled().graph().nodes()) {
      OperatorSpec op = n.op() instanceof OperatorSpec.Generate g
          ? new OperatorSpec.Generate(g.seed(), g.keys(), options.recordsPerSite(), g.startMs(), g.stepMs(), g.disorderMs(), options.ratePerSite())
          : n.op();
      nodes.add(new NodeDef(n.id(), op, n.inputs()));
    }
    QueryGraph graph = new QueryGraph(planned.compiled().graph().id(), nodes);
    Map<String, String> sites = planned.placement().sites();
    Set<String> unknown = new TreeSet<>(sites.values());
    unknown.removeAll(SITES);
    if (!unknown.isEmpty()) {
      throw new QueryException("the demo's cluster has sites " + new TreeSet<>(SITES) + "; the query names " + unknown);
    }
    NodeId sink = nodes.stream().filter(n -> n.op() instanceof OperatorSpec.Collect).map(NodeDef::id).findFirst()
        .orElseThrow(() -> new QueryException("the demo reads a collect sink: declare one with 'connector' = 'collect'"));
    // The node it moves: a window at edge-a if there is one, else any inner node there.
    NodeId moved = nodes.stream()
        .filter(n -> !n.op().isSource() && !n.op().isSink() && "edge-a".equals(sites.get(n.id().value())))
        .min(java.util.Comparator.comparing(n -> isWindow(n.op()) ? 0 : 1)).map(NodeDef::id)
        .orElseThrow(() -> new QueryException("the demo moves a node at edge-a: pin part of the query there with /*+ SITE('edge-a') */"));
    return new Plan(graph, planned.placement(), moved, sink, Optional.empty());
  }

  private static boolean isWindow(OperatorSpec op) {
    return op instanceof OperatorSpec.Window || op instanceof OperatorSpec.HopWindow || op instanceof OperatorSpec.SessionWindow
        || op instanceof OperatorSpec.WindowJoin;
  }

  public Result run() throws Exception {
    Path archive = options.dataDir().resolve("archive.jsonl");
    long rate = options.auto() ? (options.ratePerSite() == 0 ? AUTO_RATE_MAX : Math.min(options.ratePerSite(), AUTO_RATE_MAX)) : options.ratePerSite();
    Plan plan = plan(new Options(options.recordsPerSite(), rate, options.crash(), options.moves(), options.hold(), options.dataDir(), options.timeout(),
        options.sql(), options.auto()), archive);
    QueryGraph graph = plan.graph();
    options.sql().ifPresent(f -> out.printf("ferry demo: the query from %s (%d logic nodes; moves %s)%n", f, graph.nodes().size(), plan.moved()));
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    out.printf("ferry demo: data in %s%n", options.dataDir().toAbsolutePath());
    out.println("starting members: cloud, edge-a, edge-b (one ActorSystem each, loopback, shared H2 journal) ...");
    int httpPort = portFree(8558) ? 8558 : 0;
    try (LocalCluster cluster = LocalCluster.start(options.dataDir(), sites, ConfigFactory.parseString("ferry.security.allow-insecure = on"
        + (options.auto()
            // the placement manager decides: site load from the nodes' measured rates (the members share this JVM), quick re-plans
            // and WAN between the two edges dear (they talk through the cloud), so an edge's overflow goes to the cloud
            ? "\nferry.placement { measured-load = nodes, manager { mode = automatic, re-plan-interval = 1s, hold-time = 2s, cool-down = 5s },"
                + " cost.wan-per-gb.pairs = [ { a = edge-a, b = edge-b, price = 0.9 } ] }"
            : "")), Duration.ofSeconds(60), httpPort)) {
      for (FerryNode n : cluster.live()) {
        out.printf("  member %s  roles %s  management %s%n", n.address(), n.settings().roles(), n.httpUrl().orElse("off"));
      }
      cluster.member("cloud").httpUrl().ifPresent(u -> out.println("web console: " + u + "/  (open it now to watch the moves and the volume live; docs/console.md)"));
      Ferry ferry = cluster.member("cloud").ferry();
      if (options.auto()) {
        printPlan(ferry, graph);
      }
      // automatic: only where data arrives and where its readers are; the planner places the rest
      Deployment d = ferry.deploy(graph, options.auto() ? endsOnly() : plan.placement()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      out.printf("deployed query %s (deployment %s):%n", d.query(), d.deploymentId());
      d.members().forEach((node, member) -> out.printf("  %-9s on %s%n", node, member));

      Path image = demoImage(options.dataDir().resolve(VOLUME + ".img"));
      long volumeStart = System.nanoTime();
      ferry.startVolume(new VolumeSpec(new VolumeId(VOLUME), "edge-a", image.toString(), "cloud", 64 * 1024, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
      String firstRead = firstRead(ferry, image, volumeStart);
      out.println("volume " + VOLUME + " (" + VOLUME_MIB + " MiB, half of it zero) migrating edge-a -> cloud; " + firstRead);

      QueryId q = d.query();
      List<Row> rows = new ArrayList<>();
      long after = 0;
      boolean crashed = !options.crash();
      List<CompletableFuture<MigrationReport>> moves = new ArrayList<>();
      int movesStarted = options.moves() && !options.auto() ? 0 : 2;
      AutoMoves auto = options.auto() && options.moves() ? new AutoMoves() : null;

      long started = System.nanoTime();
      long lastReport = 0;
      long deadline = started + options.timeout().toNanos();
      while (true) {
        SinkRows batch = read(cluster, q, plan.sink(), after);
        if (batch != null) {
          if (batch.gap()) {
            throw new IllegalStateException("the sink dropped rows before they were read");
          }
          rows.addAll(batch.rows());
          after = batch.next();
          if (batch.done()) {
            break;
          }
        }
        long now = System.nanoTime();
        if (now - lastReport > TimeUnit.SECONDS.toNanos(1)) {
          lastReport = now;
          long produced = progress(cluster, q, graph, rows.size(), now - started);
          if (auto != null) {
            auto.step(ferry, produced);
          }
          // One move each way while data flows: the node edge-a -> cloud, then back.
          if (movesStarted == 0 && produced >= options.recordsPerSite() / 5) {
            movesStarted++;
            moves.add(move(cluster, q, plan.moved(), "cloud"));
          } else if (movesStarted == 1 && produced >= options.recordsPerSite() * 2 / 5 && moves.get(0).isDone()) {
            movesStarted++;
            moves.add(move(cluster, q, plan.moved(), "edge-a"));
          }
          // the crash comes after the moves: the manual ones ended, the manager's brought window-a home (or most data is in)
          boolean movesOver = moves.stream().allMatch(CompletableFuture::isDone)
              && (auto == null || auto.back > 0 || produced >= options.recordsPerSite() * 4 / 5);
          if (!crashed && produced >= options.recordsPerSite() * 3 / 5 && movesOver) {
            crashed = true;
            crashWindowMember(cluster, d, plan.moved());
          }
        }
        if (now > deadline) {
          throw new IllegalStateException("the demo did not finish within " + options.timeout() + "; " + rows.size() + " rows read");
        }
        if (batch == null || batch.rows().isEmpty()) {
          Thread.sleep(50);
        }
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      if (plan.archive().isPresent()) {
        awaitArchive(cluster, q, plan.archive().get());
      }
      Map<NodeId, List<Row>> reference = ReferenceRun.run(graph, 100_000_000);
      List<Row> expected = reference.get(plan.sink());
      OnceOnlyChecker.Verdict sink = OnceOnlyChecker.check(expected, rows);
      Optional<OnceOnlyChecker.Verdict> file = plan.archive().map(a -> OnceOnlyChecker.check(expected, SampleQuery.readArchive(graph, archive)));
      long in = graph.nodes().stream().filter(n -> n.op().isSource()).mapToLong(n -> reference.get(n.id()).size()).sum();
      // What reached the windows: what passed the filters (and the PII projection, which drops no rows).
      long passed = graph.nodes().stream().filter(n -> isWindow(n.op())).flatMap(n -> n.inputs().stream()).distinct()
          .mapToLong(i -> reference.get(i).size()).sum();
      out.println();
      out.printf("summary: %.1f s, records in=%d (%.0f/s), passed filter=%d, records out=%d window results%n",
          seconds, in, in / seconds, passed, rows.size());
      out.printf("  sink %-7s %s%n", plan.sink(), sink);
      file.ifPresent(f -> out.printf("  sink %-7s %s%n", plan.archive().get(), f));
      for (CompletableFuture<MigrationReport> m : moves) {
        MigrationReport r = m.get(60, TimeUnit.SECONDS);
        out.printf("  move %s %s -> %s: %s, node paused %d ms%n", r.nodes(), r.from().values(), r.to(), r.outcome(), r.pauseMillis());
      }
      if (auto != null) {
        auto.printNew(ferry);
        out.printf("  automatic moves of window-a: away from edge-a %d, back to edge-a %d%s%n", auto.away, auto.back,
            auto.away > 0 && auto.back > 0 ? "" : " (NOT one each way: the load change came too late for the data; try a larger --records)");
      }
      boolean identical = checkVolume(ferry, image);
      Result result = new Result(in, rows.size(), sink, file, identical);
      long lost = sink.lost() + file.map(OnceOnlyChecker.Verdict::lost).orElse(0L);
      long duplicated = sink.duplicated() + file.map(OnceOnlyChecker.Verdict::duplicated).orElse(0L);
      out.printf("lost=%d duplicated=%d -> %s%n", lost, duplicated,
          sink.ok() && file.map(OnceOnlyChecker.Verdict::ok).orElse(true) ? "ONCE-ONLY HOLDS" : "ONCE-ONLY VIOLATED");
      out.printf("volume %s -> %s%n", VOLUME, identical ? "TARGET EQUALS SOURCE" : "TARGET DIFFERS FROM SOURCE");
      if (options.hold()) {
        out.println();
        for (FerryNode n : cluster.live()) {
          out.printf("  member %s site %s management %s%n", n.address(), n.settings().site(), n.httpUrl().orElse("off"));
        }
        String url = cluster.member("cloud").httpUrl().orElse("");
        out.println("the cluster stays up (--hold); Ctrl-C stops it. Try:");
        out.println("  the web console: " + url + "/  (any member's shows the whole cluster)");
        out.println("  ./ferry status --url " + url);
        out.println("  ./ferry decisions --url " + url + "    (the placement manager's decisions and reasons)");
        if (options.auto()) {
          Path spec = options.dataDir().resolve("plan-spec.json");
          writePlanSpec(graph, spec);
          out.println("  ./ferry plan " + spec + " --url " + url + "    (the planner's plan and reasons for the query, not deployed)");
        }
        out.println("  ./ferry migrate --query " + q + " --node " + plan.moved() + " --to cloud --url " + url);
        out.println("  ./ferry volume status " + VOLUME + " --url " + url);
        out.println("  nbdinfo " + nbdUrl(ferry) + "    (Debian's libnbd-bin; qemu-img compare -f raw -F raw " + image + " " + nbdUrl(ferry) + ")");
        new java.util.concurrent.CountDownLatch(1).await();
      }
      return result;
    }
  }

  /** A disk image: half zero blocks, the rest text (compresses) or random bytes (does not). */
  private static Path demoImage(Path file) throws java.io.IOException {
    java.util.Random r = new java.util.Random(42);
    byte[] block = new byte[64 * 1024];
    try (java.io.OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(file))) {
      for (int b = 0; b < VOLUME_MIB * 16; b++) {
        int kind = r.nextInt(4);
        java.util.Arrays.fill(block, (byte) 0);
        if (kind == 2) {
          for (int i = 0; i < block.length; i++) {
            block[i] = (byte) ('a' + r.nextInt(3));
          }
        } else if (kind == 3) {
          r.nextBytes(block);
        }
        o.write(block);
      }
    }
    return file;
  }

  private static String nbdUrl(Ferry ferry) {
    try {
      return ferry.volumeStatus(new VolumeId(VOLUME)).toCompletableFuture().get(10, TimeUnit.SECONDS).nbdUrl();
    } catch (Exception e) {
      return "nbd://(see ferry volume status)";
    }
  }

  /** Reads the middle of the volume over NBD as soon as it is exported: served before it is copied. */
  private static String firstRead(Ferry ferry, Path image, long startNanos) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      VolumeStatus st = ferry.volumeStatus(new VolumeId(VOLUME)).toCompletableFuture().get(10, TimeUnit.SECONDS);
      if (!st.nbdUrl().isEmpty() && st.frontend().isPresent()) {
        URI u = URI.create(st.nbdUrl());
        try (NbdClient c = NbdClient.connect(u.getHost(), u.getPort(), VOLUME, Duration.ofSeconds(30))) {
          long offset = (long) VOLUME_MIB << 19;
          byte[] got = c.read(offset, 4096);
          byte[] want = new byte[4096];
          try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(image.toFile(), "r")) {
            f.seek(offset);
            f.readFully(want);
          }
          return String.format("read at %s after %.0f ms (%s), %.0f%% copied then",
              st.nbdUrl(), (System.nanoTime() - startNanos) / 1e6, java.util.Arrays.equals(got, want) ? "correct" : "WRONG BYTES", st.percent());
        } catch (java.io.IOException e) {
          // not exported yet: ask again
        }
      }
      Thread.sleep(5);
    }
    return "not exported within 30 s";
  }

  /** Waits for the copy to complete and compares the whole export with the source. */
  private boolean checkVolume(Ferry ferry, Path image) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    VolumeStatus st = ferry.volumeStatus(new VolumeId(VOLUME)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    while (!st.copied() && System.nanoTime() < deadline) {
      Thread.sleep(100);
      st = ferry.volumeStatus(new VolumeId(VOLUME)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    byte[] source = Files.readAllBytes(image);
    URI u = URI.create(st.nbdUrl());
    try (NbdClient c = NbdClient.connect(u.getHost(), u.getPort(), VOLUME, Duration.ofSeconds(30))) {
      for (int off = 0; off < source.length; off += 4 << 20) {
        byte[] got = c.read(off, Math.min(4 << 20, source.length - off));
        if (!java.util.Arrays.equals(got, 0, got.length, source, off, off + got.length)) {
          out.printf("  volume %s differs from its source in [%d, %d)%n", VOLUME, off, off + got.length);
          return false;
        }
      }
    }
    long wire = st.backend().map(b -> b.bytesSent().values().stream().mapToLong(Long::longValue).sum()).orElse(0L);
    out.printf("  volume %s copied: frames %s, %.2f bytes on the wire per byte of image%n", VOLUME,
        st.backend().map(b -> b.framesSent().toString()).orElse("?"), (double) wire / source.length);
    return st.copied();
  }

  private static boolean portFree(int port) {
    try (java.net.ServerSocket s = new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** The sample query's sources at their edges and its sinks in the cloud: the planner places the rest. */
  private static io.ferry.api.Placement endsOnly() {
    return io.ferry.api.Placement.builder().place("edge-a", "src-a").place("edge-b", "src-b").place("cloud", SampleQuery.SINK, SampleQuery.ARCHIVE).build();
  }

  /**
   * Automatic mode: at a fifth of the data edge-a gets three quarters of the cores its nodes use
   * (its PII part still fits, window-a no longer does), so the manager moves window-a to the
   * cloud; once it has, the capacity comes back and, after the cool-down, the manager brings it
   * home (WAN makes the edge cheaper). Prints the manager's decisions as they come.
   */
  private final class AutoMoves {
    int stage;
    int printed;
    int away;
    int back;

    void step(Ferry ferry, long produced) throws Exception {
      printNew(ferry);
      if (stage == 0 && produced >= options.recordsPerSite() / 5) {
        double load = ferry.sites().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
            .filter(s -> s.site().equals("edge-a")).mapToDouble(io.ferry.api.SiteLoad::loadCores).findFirst().orElse(0);
        if (load > 0) {
          stage = 1;
          out.printf("LOAD CHANGE: edge-a's capacity drops to %.4f cores (its nodes use %.4f)%n", load * 0.75, load);
          ferry.placementCapacity("edge-a", load * 0.75);
        }
      } else if (stage == 1 && away > 0) {
        stage = 2;
        out.println("LOAD CHANGE: edge-a's capacity is back");
        ferry.placementCapacity("edge-a", -1);
      }
    }

    void printNew(Ferry ferry) throws Exception {
      List<io.ferry.api.PlacementDecision> all = ferry.decisions().toCompletableFuture().get(10, TimeUnit.SECONDS);
      for (io.ferry.api.PlacementDecision d : all.subList(Math.min(printed, all.size()), all.size())) {
        out.println(d.line());
        // away: to the cloud as a rule; to edge-b when the measured rates at the drop say even the PII part no longer fits edge-a
        if (d.kind().equals("executed") && "window-a".equals(d.node())) {
          if (d.from().equals("edge-a") && !d.to().equals("edge-a")) {
            away++;
          } else if (!d.from().equals("edge-a") && d.to().equals("edge-a")) {
            back++;
          }
        }
      }
      printed = all.size();
    }
  }

  /** The query with only its sources' and sinks' sites, as {@code ferry plan} and {@code POST /plans} take it. */
  private static void writePlanSpec(QueryGraph graph, Path file) throws java.io.IOException {
    com.fasterxml.jackson.databind.json.JsonMapper mapper = com.fasterxml.jackson.databind.json.JsonMapper.builder()
        .addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module()).build();
    Files.writeString(file, mapper.writerWithDefaultPrettyPrinter().writeValueAsString(Map.of("graph", graph, "placement", endsOnly().sites())));
  }

  /** The planner's plan for the query and its reason per node (the deploy just after places it the same way). */
  private void printPlan(Ferry ferry, QueryGraph graph) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        io.ferry.api.PlacementPlan p = ferry.plan(graph, endsOnly().sites(), Optional.empty()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        out.printf("plan (%s): WAN %.0f B/s, cost %.6f/s%n", p.method(), p.wanBytesPerSec(), p.costPerSecond());
        new TreeMap<>(p.reasons()).forEach((node, reason) -> out.printf("  plan %s%n", reason));
        return;
      } catch (java.util.concurrent.ExecutionException e) {
        // the manager has not seen the cluster yet (it re-plans every second here)
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  /** Starts moving {@code node} to {@code site}; prints the report when the move has ended. */
  private CompletableFuture<MigrationReport> move(LocalCluster cluster, QueryId q, NodeId node, String site) {
    out.printf("MOVE: %s -> %s while data flows%n", node, site);
    return cluster.member("cloud").ferry()
        .migrate(MigrationInstruction.of(q.value(), List.of(node.value()), site))
        .toCompletableFuture()
        .whenComplete(
            (r, e) -> {
              if (e != null) {
                out.println("  move failed: " + e.getMessage());
              } else {
                out.printf("  moved %s %s -> %s: %s, paused %d ms, steps %s%n", node, r.from().get(node), r.to(), r.outcome(),
                    r.pauseMillis(), r.steps().stream().map(s -> s.name() + " " + s.durationMillis() + " ms").toList());
              }
            });
  }

  private SinkRows read(LocalCluster cluster, QueryId q, NodeId sink, long after) {
    try {
      return cluster.member("cloud").ferry().read(q, sink, after, 5000)
          .toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      out.println("  (sink not reachable yet: " + e.getClass().getSimpleName() + ")");
      return null;
    }
  }

  /** Prints one progress line; returns the rows the slower source has produced. */
  private long progress(LocalCluster cluster, QueryId q, QueryGraph graph, long sinkRows, long elapsedNanos) {
    Set<NodeId> sources = new HashSet<>();
    Set<NodeId> windows = new HashSet<>();
    for (NodeDef n : graph.nodes()) {
      if (n.op().isSource()) {
        sources.add(n.id());
      } else if (isWindow(n.op())) {
        windows.add(n.id());
      }
    }
    try {
      List<NodeStatus> status = cluster.member("cloud").ferry().status(q).toCompletableFuture().get(5, TimeUnit.SECONDS);
      StringBuilder line = new StringBuilder(String.format("  %5.1fs", elapsedNanos / 1e9));
      long slowest = Long.MAX_VALUE;
      for (NodeStatus s : status) {
        String node = s.node().value();
        if (sources.contains(s.node())) {
          slowest = Math.min(slowest, s.outputAnchor());
          line.append(String.format("  %s=%d", node, s.outputAnchor()));
        } else if (windows.contains(s.node())) {
          line.append(String.format("  %s=%d", node, s.outputAnchor()));
        }
      }
      line.append(String.format("  sink=%d", sinkRows));
      out.println(line);
      return slowest == Long.MAX_VALUE ? 0 : slowest;
    } catch (Exception e) {
      out.println("  (status unavailable: " + e.getClass().getSimpleName() + ")");
      return 0;
    }
  }

  private void crashWindowMember(LocalCluster cluster, Deployment d, NodeId node) {
    String address = d.members().get(node.value());
    FerryNode victim = cluster.memberAt(address);
    out.printf("CRASH: stopping %s (site %s, hosts %s) without leaving the cluster%n", address, victim.settings().site(), node);
    victim.crash();
    FerryNode replacement = cluster.startMember(victim.settings().site(), victim.settings().tier());
    out.printf("  started replacement %s at site %s%n", replacement.address(), victim.settings().site());
  }

  /** Waits until the archive sink has written everything it will write. */
  private void awaitArchive(LocalCluster cluster, QueryId q, NodeId archive) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      NodeStatus s = cluster.member("cloud").ferry().nodeStatus(q, archive).toCompletableFuture().get(10, TimeUnit.SECONDS);
      if (s.done()) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the archive sink did not finish within 60 s");
  }
}
