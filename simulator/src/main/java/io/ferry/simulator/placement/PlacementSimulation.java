package io.ferry.simulator.placement;

import io.ferry.placement.MigrationId;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.MoveProcess;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.placement.plan.CostModel;
import io.ferry.placement.plan.Decision;
import io.ferry.placement.plan.PlacementManager;
import io.ferry.placement.plan.PlanGraph;
import io.ferry.placement.plan.PlanNode;
import io.ferry.placement.plan.Planner;
import io.ferry.placement.plan.Topology;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import io.ferry.simulator.check.CapacityCheck;
import io.ferry.simulator.check.CoolDownCheck;
import io.ferry.simulator.check.MoveReasonCheck;
import io.ferry.simulator.check.PiiAtEdgeCheck;
import io.ferry.simulator.protocol.Scheduler;
import io.ferry.simulator.report.RunReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * The deterministic placement tier: edge sites whose load and links change on a seeded schedule,
 * one chain query per edge site (source and mask see PII, then filter, projections, a window and a
 * cloud sink), and the production {@link PlacementManager} and {@link Planner} deciding, with every
 * move run by the production {@link MoveProcess} against simulated nodes. Checkers: PII at the
 * edge, cool-down, capacity, a reason per move. It also measures WAN bytes, core-seconds, cost and
 * p99 latency, so a static placement can be run on the same workload for comparison.
 *
 * <p>Scenarios: {@code load-shift} (edge sites' background load rises near their capacity and falls
 * again; source rates shift) and {@code link-degradation} (edge links lose bandwidth, gain delay
 * and loss, and recover; edge cores are dear, so nodes sit in the cloud while links are good).
 */
public final class PlacementSimulation {
  public static final String LOAD_SHIFT = "load-shift";
  public static final String LINK_DEGRADATION = "link-degradation";
  public static final String TIER = "deterministic";
  private static final double EDGE_CORES = 2;
  private static final double CLOUD_CORES = 4096;
  private static final long SAMPLE_MS = 1000;
  private static final int KEYS_PER_SECOND = 10;

  /**
   * How the nodes are placed: by the manager ({@code automatic}), or held where {@code place}
   * puts them at the start (a static placement, for comparison).
   */
  public record Policy(String name, Optional<BiFunction<PlanGraph, Topology, Map<NodeId, Site>>> place) {
    public static Policy automatic() {
      return new Policy("automatic", Optional.empty());
    }

    public static Policy fixed(String name, BiFunction<PlanGraph, Topology, Map<NodeId, Site>> place) {
      return new Policy(name, Optional.of(place));
    }
  }

  /**
   * @param edgeSites edge sites, one query each
   * @param nodesPerQuery nodes of each query's chain (at least 5)
   */
  public record Options(String scenario, int edgeSites, int nodesPerQuery, Duration duration, PlacementManager.Settings manager, Policy policy) {
    public Options {
      if (!scenario.equals(LOAD_SHIFT) && !scenario.equals(LINK_DEGRADATION)) {
        throw new IllegalArgumentException("a placement scenario is load-shift or link-degradation, got " + scenario);
      }
      if (edgeSites < 1 || edgeSites > 1000 || nodesPerQuery < 5 || nodesPerQuery > 100) {
        throw new IllegalArgumentException("1..1000 edge sites and 5..100 nodes per query, got " + edgeSites + " and " + nodesPerQuery);
      }
    }

    public static Options of(String scenario) {
      return new Options(scenario, 4, 10, Duration.ofMinutes(20),
          new PlacementManager.Settings(Duration.ofSeconds(10), 0.15, Duration.ofSeconds(30), Duration.ofSeconds(90), PlacementManager.Mode.AUTOMATIC, 0.05),
          Policy.automatic());
    }

    public Options withSize(int edges, int nodes, Duration d) {
      return new Options(scenario, edges, nodes, d, manager, policy);
    }

    public Options withManager(PlacementManager.Settings m) {
      return new Options(scenario, edgeSites, nodesPerQuery, duration, m, policy);
    }

    public Options withPolicy(Policy p) {
      return new Options(scenario, edgeSites, nodesPerQuery, duration, manager, p);
    }
  }

  /**
   * What the workload cost over the run.
   *
   * @param overloadSiteSeconds seconds summed over sites that ran over their capacity
   */
  public record Totals(double wanBytes, double cloudCoreSeconds, double edgeCoreSeconds, double cost, double p99LatencyMs, long moves,
      long overloadSiteSeconds) {}

  public record Result(RunReport report, Totals totals) {}

  public static Result run(long seed, Options options) {
    return new PlacementSimulation(seed, options).execute();
  }

  /** Replays one seed: {@code --scenario load-shift|link-degradation --seed N [--edges E --nodes N]}. */
  public static void main(String[] args) {
    long seed = 0;
    Options o = Options.of(LOAD_SHIFT);
    int edges = 4;
    int nodes = 10;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--seed" -> seed = Long.parseLong(args[i + 1]);
        case "--scenario" -> o = Options.of(args[i + 1]);
        case "--edges" -> edges = Integer.parseInt(args[i + 1]);
        case "--nodes" -> nodes = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("usage: --scenario S --seed N [--edges E] [--nodes N], got " + args[i]);
      }
    }
    Result r = run(seed, o.withSize(edges, nodes, o.duration()));
    r.report().operations().forEach(e -> System.out.println(e.atMillis() + " ms " + e.detail()));
    r.report().checkers().forEach(v -> System.out.println((v.ok() ? "OK     " : "FAILED ") + v.checker() + ": " + v.detail()));
    System.out.println(r.totals());
    System.exit(r.report().ok() ? 0 : 1);
  }

  private final long seed;
  private final Options o;
  private final Random random;
  private final Scheduler scheduler = new Scheduler();
  private final CostModel cost;
  private final PlacementManager manager;
  private final MoveProcess.Settings moveSettings = new MoveProcess.Settings(Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ZERO);
  private final List<Site> edges = new ArrayList<>();
  private final Site cloud = Site.of("cloud");
  private final Map<Site, Double> background = new HashMap<>();
  private final Map<Site, Double> rate = new HashMap<>();
  private final Map<Site, Topology.Link> links = new HashMap<>();
  private final Map<Site, Topology.Link> goodLinks = new HashMap<>();
  private final Map<QueryId, Site> edgeOf = new LinkedHashMap<>();
  private final Map<QueryId, Map<NodeId, Site>> at = new LinkedHashMap<>();
  private final Map<QueryId, PlanGraph> graphs = new LinkedHashMap<>();
  private final Map<Site, Double> siteBacklogSec = new HashMap<>();
  private final Map<String, Double> linkBacklogSec = new HashMap<>();
  private final PiiAtEdgeCheck pii = new PiiAtEdgeCheck();
  private final CoolDownCheck coolDown;
  private final CapacityCheck capacity = new CapacityCheck();
  private final MoveReasonCheck reasons = new MoveReasonCheck();
  private final List<RunReport.Event> faults = new ArrayList<>();
  private final List<RunReport.Event> operations = new ArrayList<>();
  private final List<Long> movePauses = new ArrayList<>();
  private final Map<String, Double> bytesPerLink = new TreeMap<>();
  private final List<Double> latencies = new ArrayList<>();
  private double wanBytes;
  private double cloudCoreSeconds;
  private double edgeCoreSeconds;
  private double totalCost;
  private long moves;
  private long overloadSiteSeconds;
  private int moveSeq;

  private PlacementSimulation(long seed, Options o) {
    this.seed = seed;
    this.o = o;
    this.random = new Random(seed);
    this.cost = costModel(o.scenario());
    this.manager = PlacementManager.create(o.manager(), cost);
    this.coolDown = new CoolDownCheck(o.manager().coolDown().toMillis());
  }

  /** The scenario's prices: in link-degradation edge cores are dear, so work sits in the cloud while links are good. */
  public static CostModel costModel(String scenario) {
    return scenario.equals(LOAD_SHIFT)
        ? new CostModel(Map.of(Tier.EDGE, 0.00004, Tier.CLOUD, 0.00001), 0.09, Map.of(), 0.0001)
        : new CostModel(Map.of(Tier.EDGE, 0.0004, Tier.CLOUD, 0.00001), 0.02, Map.of(), 0.0001);
  }

  private long nowMs() {
    return scheduler.nowMicros() / 1000;
  }

  private Result execute() {
    for (int e = 0; e < o.edgeSites(); e++) {
      Site s = Site.of("edge-" + e);
      edges.add(s);
      background.put(s, 0.2 + random.nextDouble() * 0.4);
      rate.put(s, 2000.0 + random.nextInt(6000));
      Topology.Link good = Topology.Link.between(s.name(), "cloud", Duration.ofMillis(20 + random.nextInt(60)), 10e6);
      links.put(s, good);
      goodLinks.put(s, good);
      QueryId q = new QueryId("q-" + e);
      edgeOf.put(q, s);
      graphs.put(q, graph(q, s));
    }
    Topology t0 = topology();
    for (QueryId q : graphs.keySet()) {
      Map<NodeId, Site> placed = o.policy().place().isPresent()
          ? o.policy().place().get().apply(graphs.get(q), t0)
          : Planner.plan(Planner.Request.of(graphs.get(q), t0, cost)).sites();
      at.put(q, new LinkedHashMap<>(placed));
      if (o.policy().place().isEmpty()) {
        manager.deployed(graphs.get(q), placed);
      }
      observePii(q);
    }
    scheduleWorkload();
    long end = o.duration().toMillis();
    for (long t = o.manager().rePlanInterval().toMillis(); t < end; t += o.manager().rePlanInterval().toMillis()) {
      scheduler.after(t * 1000, "manager", "re-plan", "", this::rePlan);
    }
    for (long t = SAMPLE_MS; t < end; t += SAMPLE_MS) {
      scheduler.after(t * 1000, "meter", "sample", "", this::sample);
    }
    while (scheduler.step()) {
      // runs until the last scheduled event
    }
    List<RunReport.Verdict> verdicts = List.of(pii.verdict(), coolDown.verdict(), capacity.verdict(), reasons.verdict());
    Map<String, Double> params = new LinkedHashMap<>();
    params.put("edgeSites", (double) o.edgeSites());
    params.put("nodes", (double) o.edgeSites() * o.nodesPerQuery());
    RunReport report = new RunReport(o.scenario(), TIER, seed,
        "java -cp <simulator classpath> io.ferry.simulator.placement.PlacementSimulation --scenario " + o.scenario() + " --seed " + seed
            + " --edges " + o.edgeSites() + " --nodes " + o.nodesPerQuery(),
        end, params, faults, operations, List.of(), 0, movePauses,
        bytesPerLink.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> Math.round(e.getValue()), (a, b) -> a, TreeMap::new)),
        List.of(), verdicts, scheduler.traceHash());
    return new Result(report, new Totals(wanBytes, cloudCoreSeconds, edgeCoreSeconds, totalCost, p99(), moves, overloadSiteSeconds));
  }

  private double p99() {
    if (latencies.isEmpty()) {
      return 0;
    }
    double[] a = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return a[Math.min(a.length - 1, (int) Math.ceil(a.length * 0.99) - 1)];
  }

  // ---- the workload ---------------------------------------------------------------------------

  /** The chain of one edge's query at its current source rate. */
  private PlanGraph graph(QueryId q, Site edge) {
    double r = rate.get(edge);
    List<PlanNode> nodes = new ArrayList<>();
    NodeId prev = new NodeId("source");
    nodes.add(new PlanNode(prev, List.of(), r, r, 64, 2e-6, List.of("owner"), Optional.of(edge)));
    prev = add(nodes, "mask", prev, r, r, 64, 4e-6, true);
    prev = add(nodes, "filter", prev, r, r / 2, 64, 3e-6, false);
    for (int i = 1; i <= o.nodesPerQuery() - 5; i++) {
      prev = add(nodes, "project-" + i, prev, r / 2, r / 2, 64, 1e-5, false);
    }
    prev = add(nodes, "window", prev, r / 2, KEYS_PER_SECOND, 48, 2e-5, false);
    nodes.add(new PlanNode(new NodeId("out"), List.of(prev), KEYS_PER_SECOND, KEYS_PER_SECOND, 48, 1e-6, List.of(), Optional.of(cloud)));
    return new PlanGraph(q, nodes);
  }

  private static NodeId add(List<PlanNode> nodes, String name, NodeId in, double inRate, double outRate, double bytes, double cpu, boolean isPii) {
    NodeId id = new NodeId(name);
    nodes.add(new PlanNode(id, List.of(in), inRate, outRate, bytes, cpu, isPii ? List.of("owner") : List.of(), Optional.empty()));
    return id;
  }

  /** The cores the PII part of an edge's query needs: load never rises so high that it cannot fit. */
  private double piiCores(Site e) {
    return rate.get(e) * 6e-6;
  }

  private void scheduleWorkload() {
    long end = o.duration().toMillis();
    for (Site e : edges) {
      long t = 60_000 + random.nextInt(120_000);
      boolean high = true;
      while (t < end - 60_000) {
        long at = t;
        if (o.scenario().equals(LOAD_SHIFT)) {
          boolean up = high;
          double newRate = 2000.0 + random.nextInt(6000);
          double level = random.nextDouble();
          scheduler.after(at * 1000, e.name(), "load", up ? "high" : "low", () -> {
            rate.put(e, newRate);
            // high: the query's PII nodes still fit inside the manager's smallest headroom (1 %)
            double load = up ? EDGE_CORES - piiCores(e) - 0.03 - level * 0.05 : 0.2 + level * 0.4;
            background.put(e, load);
            faults.add(new RunReport.Event(nowMs(), up ? "load-high" : "load-low",
                String.format(java.util.Locale.ROOT, "%s background load %.2f of %.0f cores, source %.0f rows/s", e, load, EDGE_CORES, newRate)));
          });
        } else {
          boolean degrade = high;
          double bw = 20_000 + random.nextInt(40_000);
          scheduler.after(at * 1000, e.name(), "link", degrade ? "degrade" : "recover", () -> {
            Topology.Link l = degrade
                ? new Topology.Link(Optional.of(e), Optional.of(cloud), Duration.ofMillis(300), bw, 0.05)
                : goodLinks.get(e);
            links.put(e, l);
            faults.add(new RunReport.Event(nowMs(), degrade ? "link-degraded" : "link-recovered",
                String.format(java.util.Locale.ROOT, "%s<->cloud rtt %d ms, %.0f KB/s, loss %.2f", e, l.rtt().toMillis(), l.bandwidthBytesPerSec() / 1e3, l.lossRatio())));
          });
        }
        high = !high;
        t += 90_000 + random.nextInt(180_000);
      }
    }
  }

  private Topology topology() {
    List<Topology.SiteInfo> sites = new ArrayList<>();
    Map<Site, Double> used = usedCores();
    sites.add(new Topology.SiteInfo(cloud, Tier.CLOUD, CLOUD_CORES, used.getOrDefault(cloud, 0.0), true));
    for (Site e : edges) {
      sites.add(new Topology.SiteInfo(e, Tier.EDGE, EDGE_CORES, background.get(e) + used.getOrDefault(e, 0.0), true));
    }
    // edge sites reach each other only through the WAN's slowest paths: a thin default link
    return new Topology(sites, List.copyOf(links.values()), Topology.Link.fallback(Duration.ofMillis(300), 20_000));
  }

  /** Cores the queries use at each site, where they actually run now. */
  private Map<Site, Double> usedCores() {
    Map<Site, Double> used = new HashMap<>();
    for (Map.Entry<QueryId, Map<NodeId, Site>> q : at.entrySet()) {
      PlanGraph g = graphs.get(q.getKey());
      for (PlanNode n : g.nodes()) {
        used.merge(q.getValue().get(n.id()), n.cores(), Double::sum);
      }
    }
    return used;
  }

  private void observePii(QueryId q) {
    for (PlanNode n : graphs.get(q).nodes()) {
      Site s = at.get(q).get(n.id());
      pii.observe(nowMs(), q + "/" + n.id(), s.name(), !s.equals(cloud), n.pii());
    }
  }

  // ---- the manager and its moves ------------------------------------------------------------

  private void rePlan() {
    for (QueryId q : graphs.keySet()) {
      graphs.put(q, graph(q, edgeOf.get(q)));
    }
    Topology t = topology();
    for (Topology.SiteInfo s : t.sites()) {
      capacity.atPlan(nowMs(), s.site().name(), s.loadCores(), s.cores());
    }
    if (o.policy().place().isPresent()) {
      return;
    }
    Map<QueryId, Map<NodeId, PlanGraph.Measured>> measured = new HashMap<>();
    for (Map.Entry<QueryId, PlanGraph> g : graphs.entrySet()) {
      Map<NodeId, PlanGraph.Measured> m = new HashMap<>();
      for (PlanNode n : g.getValue().nodes()) {
        // meters are not exact: +-2 % noise
        double noise = 1 + (random.nextDouble() - 0.5) * 0.04;
        m.put(n.id(), new PlanGraph.Measured(n.inRowsPerSec() * noise, n.outRowsPerSec() * noise, n.outBytesPerRow(), n.cpuSecondsPerRow()));
      }
      measured.put(g.getKey(), m);
    }
    PlacementManager.Outcome out = manager.tick(nowMs(), t, measured);
    for (Decision d : out.decisions()) {
      operations.add(new RunReport.Event(nowMs(), "decision-" + d.kind().label(), d.line()));
      if (d.kind() == Decision.Kind.EXECUTED) {
        reasons.executed(d.query() + "/" + d.node().map(NodeId::value).orElse("*"), d.to().name(), d.reason());
      }
    }
    out.moves().forEach(this::startMove);
  }

  private void startMove(PlacementManager.MoveOrder order) {
    QueryId q = order.instruction().query();
    List<NodeId> nodes = order.instruction().nodes();
    Site to = order.instruction().toSite();
    Map<NodeId, Site> from = new LinkedHashMap<>();
    for (NodeId n : nodes) {
      from.put(n, at.get(q).get(n));
      coolDown.moveStarted(nowMs(), q + "/" + n, order.forced());
      reasons.moveStarted(nowMs(), q + "/" + n, to.name());
    }
    moves++;
    long started = nowMs();
    MoveProcess.Begun b = MoveProcess.start(new MigrationId("m-" + (++moveSeq)), q, nodes, from, to, moveSettings, MoveProcess.Now.at(nowMs()));
    carryOut(b.process(), b.decision(), q, started);
  }

  /** Carries out a move's effects on the simulated nodes; their replies come back after seeded delays. */
  private void carryOut(MoveProcess p, MoveProcess.Decision d, QueryId q, long started) {
    for (MoveProcess.Effect e : d.effects()) {
      if (e instanceof MoveProcess.AskPause a) {
        long seq = random.nextInt(1000);
        scheduler.after(delayMicros(), q + "/" + a.node(), "paused", "", () -> carryOut(p, p.on(new MoveProcess.PausedAt(a.node(), seq), now()), q, started));
      } else if (e instanceof MoveProcess.WriteLocations w) {
        at.get(q).putAll(w.sites());
        observePii(q);
      } else if (e instanceof MoveProcess.AskResume r) {
        scheduler.after(delayMicros(), q + "/" + r.node(), "resumed", "", () -> carryOut(p, p.on(new MoveProcess.ResumedAt(r.node()), now()), q, started));
      } else if (e instanceof MoveProcess.StartTimer t) {
        scheduler.after(t.delay().toNanos() / 1000, q.value(), "timer", "", () -> carryOut(p, p.on(new MoveProcess.TimerFired(), now()), q, started));
      } else if (e instanceof MoveProcess.Finish f) {
        boolean done = f.outcome() == MigrationReport.Outcome.COMPLETED;
        movePauses.add(nowMs() - started);
        operations.add(new RunReport.Event(nowMs(), "move-" + (done ? "completed" : "rolled-back"), q + " " + p.move().nodes() + " -> " + p.move().to()));
        manager.moveEnded(q, p.move().nodes(), p.move().to(), done, f.outcome().name(), nowMs()).forEach(x ->
            operations.add(new RunReport.Event(nowMs(), "decision-" + x.kind().label(), x.line())));
      }
    }
  }

  private MoveProcess.Now now() {
    return MoveProcess.Now.at(nowMs());
  }

  private long delayMicros() {
    return 5_000 + random.nextInt(150_000);
  }

  // ---- metering -------------------------------------------------------------------------------

  /** One second of the workload where it runs now: WAN bytes, core-seconds, cost, backlogs and latency. */
  private void sample() {
    Topology t = topology();
    Map<Site, Topology.SiteInfo> sites = t.byId();
    Map<String, Double> linkBytes = new HashMap<>();
    for (Map.Entry<QueryId, Map<NodeId, Site>> q : at.entrySet()) {
      PlanGraph g = graphs.get(q.getKey());
      Map<NodeId, PlanNode> byId = g.byId();
      for (PlanNode n : g.nodes()) {
        Site s = q.getValue().get(n.id());
        if (s.equals(cloud)) {
          cloudCoreSeconds += n.cores();
        } else {
          edgeCoreSeconds += n.cores();
        }
        totalCost += n.cores() * cost.corePrice(sites.get(s).tier());
        for (NodeId in : n.inputs()) {
          Site from = q.getValue().get(in);
          if (!from.equals(s)) {
            double b = byId.get(in).outBytesPerSec();
            Topology.Link l = t.link(from, s);
            wanBytes += b;
            totalCost += b * cost.wanPricePerByte(from, s) / (1 - l.lossRatio()) + cost.latencyWeight() * l.oneWaySeconds();
            String key = from.compareTo(s) <= 0 ? from + "<->" + s : s + "<->" + from;
            linkBytes.merge(key, b, Double::sum);
            bytesPerLink.merge(key, b, Double::sum);
          }
        }
      }
    }
    for (Topology.SiteInfo s : t.sites()) {
      double util = s.loadCores() / s.cores();
      overloadSiteSeconds += util > 1 + 1e-9 ? 1 : 0;
      siteBacklogSec.merge(s.site(), 0.0, Double::sum);
      siteBacklogSec.put(s.site(), Math.max(0, siteBacklogSec.get(s.site()) + util - 1));
    }
    for (Site e : edges) {
      String key = e + "<->" + cloud;
      double util = linkBytes.getOrDefault(key, 0.0) / links.get(e).bandwidthBytesPerSec();
      linkBacklogSec.put(key, Math.max(0, linkBacklogSec.getOrDefault(key, 0.0) + util - 1));
    }
    for (Map.Entry<QueryId, Map<NodeId, Site>> q : at.entrySet()) {
      Site e = edgeOf.get(q.getKey());
      double wanDelay = 0;
      boolean crosses = false;
      PlanGraph g = graphs.get(q.getKey());
      for (PlanNode n : g.nodes()) {
        for (NodeId in : n.inputs()) {
          if (!q.getValue().get(in).equals(q.getValue().get(n.id()))) {
            wanDelay += t.link(q.getValue().get(in), q.getValue().get(n.id())).oneWaySeconds() * 1000;
            crosses = true;
          }
        }
      }
      double backlog = siteBacklogSec.getOrDefault(e, 0.0) + (crosses ? linkBacklogSec.getOrDefault(e + "<->" + cloud, 0.0) : 0);
      latencies.add(5 + wanDelay + backlog * 1000);
    }
  }
}
