package io.ferry.simulator.protocol;

import io.ferry.testkit.ReferenceRun;
import io.ferry.placement.MigrationId;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.MoveProcess;
import io.ferry.placement.Site;
import io.ferry.testkit.SampleQuery;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.node.LogicNode;
import io.ferry.query.node.NodeState;
import io.ferry.simulator.check.LivenessCheck;
import io.ferry.simulator.check.OnceOnlyCheck;
import io.ferry.simulator.check.SingleOwnerCheck;
import io.ferry.simulator.report.RunReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The deterministic protocol tier: the sample query's logic nodes as real {@link
 * io.ferry.query.node.NodeState}s and their moves as the real {@link MoveProcess}, in one thread,
 * on a simulated clock, network and journal, with crashes, restarts, moves of one to three nodes,
 * placement-manager crashes (whose in-flight pauses may land after the successor's messages), ask
 * timeouts, hand-off lag, message loss, duplication and reordering and journal stalls drawn from one seed. Faults stop at a heal time so liveness can be checked. The same seed gives the same trace.
 */
public final class ProtocolSimulation {

  public static final String TIER = "deterministic";
  public static final String SCENARIO = "sample-query";
  private static final String DEPLOYMENT = "sim-1";
  private static final long MS = 1000;
  private static final long REGISTRY_TICK_MICROS = 1000 * MS;
  private static final Duration MOVE_RESUME_RETRY = Duration.ofMillis(20);
  /** The two sites nodes move between; every node starts at the first. */
  private static final List<String> SITES = List.of("edge-a", "cloud");

  /**
   * @param dedup false switches the anchors' dedup off (test-only), to show the checker catches it
   * @param livenessBoundMillis simulated time after the heal within which every sink must finish
   */
  public record Options(boolean dedup, int recordsPerSourceMin, int recordsPerSourceMax, long livenessBoundMillis) {
    public Options {
      if (recordsPerSourceMin < 1 || recordsPerSourceMax < recordsPerSourceMin) {
        throw new IllegalArgumentException(
            "records per source must be 1 <= min <= max, got " + recordsPerSourceMin + ".." + recordsPerSourceMax);
      }
    }

    public static Options defaults() {
      return new Options(true, 300, 2000, 60_000);
    }

    public Options withDedup(boolean on) {
      return new Options(on, recordsPerSourceMin, recordsPerSourceMax, livenessBoundMillis);
    }

    public Options withRecords(int min, int max) {
      return new Options(dedup, min, max, livenessBoundMillis);
    }
  }

  /**
   * Replays one seed and prints its verdicts: {@code --seed N [--no-dedup]}. Until the {@code
   * ferry} launcher gains a {@code simulate} command (it lives in runtime, which cannot see this
   * module), run it with {@code java -cp <simulator classpath> io.ferry.simulator.protocol.ProtocolSimulation}.
   */
  public static void main(String[] args) {
    long seed = 0;
    Options options = Options.defaults();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--seed") && i + 1 < args.length) {
        seed = Long.parseLong(args[++i]);
      } else if (args[i].equals("--no-dedup")) {
        options = options.withDedup(false);
      } else if (!args[i].equals("--tier") && !args[i].equals(TIER)) {
        throw new IllegalArgumentException("usage: --seed N [--no-dedup], got " + args[i]);
      }
    }
    RunReport r = run(seed, options);
    System.out.println("seed " + r.seed() + " trace " + r.traceHash() + " simulated " + r.durationMillis() + " ms " + r.faultProbabilities());
    r.faults().forEach(e -> System.out.println("  fault " + e.atMillis() + " ms " + e.kind() + " " + e.detail()));
    r.operations().forEach(e -> System.out.println("  op    " + e.atMillis() + " ms " + e.kind() + " " + e.detail()));
    r.checkers().forEach(v -> System.out.println((v.ok() ? "OK     " : "FAILED ") + v.checker() + ": " + v.detail()));
    System.exit(r.ok() ? 0 : 1);
  }

  public static RunReport run(long seed, Options options) {
    return new ProtocolSimulation(seed, options).execute();
  }

  private final long seed;
  private final Options options;
  private final SimRandom random;
  private final Scheduler scheduler = new Scheduler();
  private final Map<String, Double> probabilities = new LinkedHashMap<>();
  private final long records;
  private final long ratePerSecond;
  private final double crashesPerSecond;
  private final double movesPerSecond;
  private final double managerCrashesPerSecond;
  private final long managerRestartMinMicros;
  private final long restartDelayMaxMicros;
  private final long handoffDelayMaxMicros;
  /** How long the old instance may go on running after its location moved (sharding's rebalance lag); 0: none. */
  private final long handoffStopLagMaxMicros;
  /** Chance that each pause a crashing manager has in flight lands only after its successor's messages. */
  private final double pLateDeadPause;
  private final long askTimeoutMicros;
  /** Whether moves pre-copy first ({@code ferry.migration.pre-copy}), drawn per run. */
  private final boolean preCopy;
  private final long healAtMicros;
  private final SimNode.Settings settings;
  private final SimNetwork network;
  private final SimReader reader;
  private final QueryGraph graph;
  private final List<NodeSpec> specs;
  private final Map<String, SimJournal> journals = new LinkedHashMap<>();
  private final Map<String, SimNode> live = new LinkedHashMap<>();
  private final Map<String, SimNode> instances = new LinkedHashMap<>();
  private final Map<String, Integer> incarnations = new LinkedHashMap<>();
  private final Map<String, Long> startedAtMicros = new LinkedHashMap<>();
  private final List<SingleOwnerCheck.Interval> intervals = new ArrayList<>();
  private final Map<String, String> siteOf = new LinkedHashMap<>();
  /** Nodes with no live instance whose next instance is scheduled (a restart or a hand-off). */
  private final Set<String> startPending = new HashSet<>();
  private final SimManager manager;
  private final List<RunReport.Event> faults = new ArrayList<>();
  private final List<RunReport.Event> operations = new ArrayList<>();
  private final List<Long> pausesMillis = new ArrayList<>();
  private final List<String> gaps = new ArrayList<>();
  /** Pulls that arrived after a newer pull of the same consumer had trimmed the log past them. */
  private long stalePulls;
  private boolean healed;
  private int moveCount;

  private ProtocolSimulation(long seed, Options options) {
    this.seed = seed;
    this.options = options;
    this.random = new SimRandom(seed);
    // Each fault kind is off in some seeds (swarm testing): rare combinations get their turn.
    records = random.between(options.recordsPerSourceMin(), options.recordsPerSourceMax());
    ratePerSecond = random.chance(0.5) ? 0 : random.between(200, 2000);
    double pDrop = random.chance(0.75) ? random.uniform(0, 0.3) : 0;
    double pDup = random.chance(0.75) ? random.uniform(0, 0.2) : 0;
    long delayMin = random.between(100, 5 * MS);
    long delayMax = delayMin + random.between(0, 50 * MS);
    crashesPerSecond = random.chance(0.7) ? random.uniform(0.05, 1.5) : 0;
    movesPerSecond = random.chance(0.7) ? random.uniform(0.05, 1.5) : 0;
    restartDelayMaxMicros = random.between(100 * MS, 3000 * MS);
    handoffDelayMaxMicros = random.between(10 * MS, 300 * MS);
    handoffStopLagMaxMicros = random.chance(0.5) ? random.between(MS, 100 * MS) : 0;
    double pStall = random.chance(0.3) ? random.uniform(0, 0.05) : 0;
    long persistMin = random.between(100, 2 * MS);
    long longPoll = random.between(100 * MS, 1000 * MS);
    int batchRowsMax = (int) random.between(10, 300);
    settings = new SimNode.Settings(
        batchRowsMax,
        batchRowsMax * random.between(1, 8),
        longPoll + random.between(100 * MS, 1000 * MS),
        longPoll,
        50 * MS,
        (int) random.between(1, 50),
        persistMin,
        persistMin + random.between(0, 20 * MS),
        pStall,
        1000 * MS,
        MS,
        random.between(2 * MS, 100 * MS));
    healAtMicros = random.between(1000 * MS, 15_000 * MS);
    managerCrashesPerSecond = random.chance(0.3) ? random.uniform(0.05, 0.5) : 0;
    pLateDeadPause = managerCrashesPerSecond > 0 && random.chance(0.5) ? random.uniform(0.3, 1) : 0;
    // A restarted manager (a singleton taking over elsewhere) comes up after the dead one's messages landed.
    managerRestartMinMicros = delayMax + MS;
    MoveProcess.Settings moveSettings = new MoveProcess.Settings(
        Duration.ofMillis(random.between(1000, 10_000)),
        MOVE_RESUME_RETRY,
        Duration.ofMillis(random.chance(0.3) ? random.between(1, 500) : 0));
    // The manager's asks time out as QueryRegistry's do, after a step timeout.
    askTimeoutMicros = moveSettings.stepTimeout().toMillis() * MS;
    preCopy = random.chance(0.5);

    probabilities.put("recordsPerSource", (double) records);
    probabilities.put("ratePerSecond", (double) ratePerSecond);
    probabilities.put("pDrop", pDrop);
    probabilities.put("pDup", pDup);
    probabilities.put("delayMinMillis", delayMin / 1000.0);
    probabilities.put("delayMaxMillis", delayMax / 1000.0);
    probabilities.put("crashesPerSecond", crashesPerSecond);
    probabilities.put("movesPerSecond", movesPerSecond);
    probabilities.put("restartDelayMaxMillis", restartDelayMaxMicros / 1000.0);
    probabilities.put("handoffDelayMaxMillis", handoffDelayMaxMicros / 1000.0);
    probabilities.put("handoffStopLagMaxMillis", handoffStopLagMaxMicros / 1000.0);
    probabilities.put("pLateDeadPause", pLateDeadPause);
    probabilities.put("pJournalStall", pStall);
    probabilities.put("persistMaxMillis", settings.persistMaxMicros() / 1000.0);
    probabilities.put("batchRowsMax", (double) settings.batchRowsMax());
    probabilities.put("retainRowsMax", (double) settings.retainRowsMax());
    probabilities.put("longPollMillis", settings.longPollMicros() / 1000.0);
    probabilities.put("pullTimeoutMillis", settings.pullTimeoutMicros() / 1000.0);
    probabilities.put("snapshotEvery", (double) settings.snapshotEvery());
    probabilities.put("healAtMillis", healAtMicros / 1000.0);
    probabilities.put("managerCrashesPerSecond", managerCrashesPerSecond);
    probabilities.put("moveStepTimeoutMillis", (double) moveSettings.stepTimeout().toMillis());
    probabilities.put("moveHoldMillis", (double) moveSettings.holdBeforeRestore().toMillis());
    probabilities.put("preCopy", preCopy ? 1.0 : 0.0);

    network = new SimNetwork(scheduler, random, this::resolve, pDrop, pDup, delayMin, delayMax);
    reader = new SimReader(scheduler, network, SampleQuery.SINK, 500, 100 * MS, 500 * MS);
    graph = SampleQuery.graph("q-" + seed, records, ratePerSecond, null);
    specs = graph.compile();
    manager = new SimManager(moveSettings);
  }

  private Optional<Consumer<Message>> resolve(SimNetwork.Address to) {
    if (to instanceof SimNetwork.ToReader) {
      return Optional.of(reader::receive);
    }
    if (to instanceof SimNetwork.ToManager) {
      return manager.up() ? Optional.of(manager::receive) : Optional.empty();
    }
    SimNode node = to instanceof SimNetwork.ToNode n ? live.get(n.node()) : instances.get(((SimNetwork.ToInstance) to).instance());
    return node == null || !node.alive() ? Optional.empty() : Optional.of(node::receive);
  }

  private RunReport execute() {
    Optional<String> failure = Optional.empty();
    long limitMicros = healAtMicros + options.livenessBoundMillis() * MS;
    try {
      for (NodeSpec spec : specs) {
        journals.put(spec.id().value(), new SimJournal(spec.id().value()));
        siteOf.put(spec.id().value(), SITES.get(0));
        startInstance(spec.id().value());
      }
      operations.add(new RunReport.Event(0, "deploy", "query " + graph.id().value() + ", " + specs.size() + " nodes, " + records + " records per source"));
      registryTick();
      reader.start();
      if (crashesPerSecond > 0) {
        scheduleCrash();
      }
      if (movesPerSecond > 0) {
        scheduleMove();
      }
      if (managerCrashesPerSecond > 0) {
        scheduleManagerCrash();
      }
      scheduler.after(healAtMicros, "sim", "heal", "", this::heal);
      while (!reader.done() && scheduler.nowMicros() <= limitMicros && scheduler.step()) {
        // every event is hashed and run by the scheduler
      }
    } catch (RuntimeException e) {
      failure = Optional.of(e + " at " + scheduler.nowMicros() + " us; last events:\n  " + String.join("\n  ", scheduler.recent()));
    }
    live.values().forEach(n -> n.state().close());
    return report(failure);
  }

  // ---- instances ----------------------------------------------------------------------------

  private void startInstance(String node) {
    SimNode running = live.get(node);
    if (running != null && running.alive()) {
      throw new IllegalStateException("two live instances of " + node + ": " + running.instance() + " still runs");
    }
    startPending.remove(node);
    int n = incarnations.merge(node, 1, Integer::sum);
    String id = node + "#" + n;
    SimNode instance = new SimNode(host, journals.get(node), new NodeId(node), id, siteOf.get(node));
    live.put(node, instance);
    instances.put(id, instance);
    startedAtMicros.put(id, scheduler.nowMicros());
  }

  private void endInstance(SimNode instance, boolean crash) {
    if (crash) {
      instance.crash();
    } else {
      instance.stop();
    }
    live.remove(instance.node().value());
    instance.state().close();
    intervals.add(new SingleOwnerCheck.Interval(
        instance.node().value(), instance.instance(), startedAtMicros.get(instance.instance()), scheduler.nowMicros()));
  }

  private final SimNode.Host host = new SimNode.Host() {
    @Override
    public Scheduler scheduler() {
      return scheduler;
    }

    @Override
    public SimRandom random() {
      return random;
    }

    @Override
    public SimNetwork network() {
      return network;
    }

    @Override
    public SimNode.Settings settings() {
      return settings;
    }

    @Override
    public NodeState.AnchorCheck anchorCheck() {
      // Dedup off takes every batch whatever its start, as a node without the anchor check would.
      return options.dedup() ? NodeState.AnchorCheck.EXACT : (from, anchor) -> true;
    }

    @Override
    public boolean healed() {
      return healed;
    }

    @Override
    public void restart(SimNode instance) {
      scheduler.after(0, instance.instance(), "restart-behind-checkpoint", "", () -> {
        if (live.get(instance.node().value()) == instance && instance.alive()) {
          operations.add(event("restore-retry", instance.instance() + " recovered behind its checkpoint"));
          endInstance(instance, false);
          startInstance(instance.node().value());
        }
      });
    }

    @Override
    public void gap(String instance, NodeId upstream, String consumer, long after, long base) {
      long persisted = consumer.equals(NodeState.READER) ? reader.anchor() : journals.get(consumer).durableAnchor(upstream);
      if (persisted < base) {
        gaps.add(instance + " consumer=" + consumer + " after=" + after + " persisted=" + persisted + " base=" + base
            + " at " + scheduler.nowMicros() + " us");
      } else {
        stalePulls++;
      }
    }
  };

  /** The query registry's periodic, idempotent {@code Start} to every node. */
  private void registryTick() {
    for (NodeSpec spec : specs) {
      network.send("registry", new SimNetwork.ToNode(spec.id().value()), new Message.Start(spec, DEPLOYMENT));
    }
    scheduler.after(REGISTRY_TICK_MICROS, "registry", "tick", "", this::registryTick);
  }

  // ---- faults -------------------------------------------------------------------------------

  private void heal() {
    healed = true;
    network.heal();
    faults.add(event("heal", "network dropped=" + network.dropped() + " duplicated=" + network.duplicated() + " of " + network.sent() + " messages"));
  }

  private void scheduleCrash() {
    scheduler.after(random.exponential(1e6 / crashesPerSecond), "sim", "crash", "", this::crash);
  }

  private void crash() {
    if (healed) {
      return;
    }
    List<SimNode> candidates = new ArrayList<>(live.values());
    if (!candidates.isEmpty()) {
      SimNode victim = random.pick(candidates);
      String node = victim.node().value();
      endInstance(victim, true);
      long delay = random.between(10 * MS, restartDelayMaxMicros);
      faults.add(event("crash", victim.instance() + ", restart in " + delay / MS + " ms"));
      startPending.add(node);
      scheduler.after(delay, node, "restart", "", () -> {
        startInstance(node);
        faults.add(event("restart", live.get(node).instance() + " at " + siteOf.get(node)));
      });
    }
    scheduleCrash();
  }

  // ---- moves: the production MoveProcess, with simulated messages, timers and journal ----------

  private void scheduleMove() {
    scheduler.after(random.exponential(1e6 / movesPerSecond), "sim", "move", "", this::startMove);
  }

  private void startMove() {
    if (healed) {
      return;
    }
    if (manager.up()) {
      List<String> candidates = new ArrayList<>();
      live.forEach((node, instance) -> {
        if (instance.ready() && instance.state().configured() && !manager.moving(new NodeId(node))) {
          candidates.add(node);
        }
      });
      if (!candidates.isEmpty()) {
        // One to three nodes that run at one site, moved together to the other.
        String first = random.pick(candidates);
        String from = siteOf.get(first);
        String to = SITES.get(0).equals(from) ? SITES.get(1) : SITES.get(0);
        List<String> more = new ArrayList<>(candidates);
        more.removeIf(n -> n.equals(first) || !siteOf.get(n).equals(from));
        Set<String> chosen = new HashSet<>(List.of(first));
        for (long k = random.between(0, Math.min(2, more.size())); k > 0; k--) {
          chosen.add(more.remove((int) random.between(0, more.size() - 1)));
        }
        // Downstream-first, as QueryRegistry orders them: the reverse of the compiled (topological) order.
        List<NodeId> nodes = new ArrayList<>();
        Map<NodeId, Site> sources = new LinkedHashMap<>();
        for (int i = specs.size() - 1; i >= 0; i--) {
          NodeId n = specs.get(i).id();
          if (chosen.contains(n.value())) {
            nodes.add(n);
            sources.put(n, Site.of(from));
          }
        }
        manager.start(nodes, sources, Site.of(to));
      }
    }
    scheduleMove();
  }

  private void scheduleManagerCrash() {
    scheduler.after(random.exponential(1e6 / managerCrashesPerSecond), "sim", "manager-crash", "", () -> {
      crashManager();
      scheduleManagerCrash();
    });
  }

  private void crashManager() {
    if (healed || !manager.up()) {
      return;
    }
    long delay = random.between(managerRestartMinMicros, managerRestartMinMicros + restartDelayMaxMicros);
    faults.add(event("manager-crash", "restart in " + delay / MS + " ms"));
    manager.crash();
    scheduler.after(delay, "manager", "restart", "", () -> {
      faults.add(event("manager-restart", ""));
      manager.restart();
    });
  }

  /**
   * Sharding after a location write: the node's instance stops and a new one starts at the new site
   * after a hand-off delay. A node with no live instance starts at the new site when its restart comes.
   */
  private void relocate(String node, String site) {
    if (site.equals(siteOf.put(node, site))) {
      return;
    }
    SimNode instance = live.get(node);
    long lag = handoffStopLagMaxMicros == 0 ? 0 : random.between(0, handoffStopLagMaxMicros);
    if (lag == 0) {
      handOff(node, instance);
    } else {
      // Until sharding stops it, the old instance answers a resume "runs elsewhere" (Refused while restoring).
      scheduler.after(lag, node, "handoff-stop", site, () -> handOff(node, instance));
    }
  }

  private void handOff(String node, SimNode instance) {
    if (instance != null && instance.alive() && live.get(node) == instance) {
      endInstance(instance, false);
    }
    if (live.containsKey(node) || startPending.contains(node)) {
      return;
    }
    startPending.add(node);
    long handoff = random.between(MS, handoffDelayMaxMicros);
    scheduler.after(handoff, node, "handoff", siteOf.get(node), () -> {
      startInstance(node);
      operations.add(event("restore", live.get(node).instance() + " at " + siteOf.get(node)));
    });
  }

  /**
   * The placement manager's part in moves: a shell over {@link MoveProcess}, as {@code QueryRegistry}
   * is in a cluster. Its journal is a list of the events the process decided on; a crash loses
   * everything else (running processes, timers, the answers on their way), and a restart replays
   * the journal and recovers every move that had not ended.
   */
  private final class SimManager {
    private final MoveProcess.Settings settings;
    private final List<MoveProcess.Event> journal = new ArrayList<>();
    private final Map<MigrationId, MoveProcess.Move> recorded = new LinkedHashMap<>();
    private final Map<MigrationId, MoveProcess> running = new LinkedHashMap<>();
    private final Map<MigrationId, Integer> timers = new LinkedHashMap<>();
    /** Asks not answered and not timed out yet, by ask id. */
    private final Set<Long> asks = new HashSet<>();
    /** Pre-copy asks not answered and not timed out yet, by ask id: in memory only, as QueryRegistry's. */
    private final Map<Long, PreCopyAsk> preCopyAsks = new LinkedHashMap<>();
    private long askCount;
    private boolean up = true;
    private int epoch;

    SimManager(MoveProcess.Settings settings) {
      this.settings = settings;
    }

    boolean up() {
      return up;
    }

    boolean moving(NodeId node) {
      return recorded.values().stream().anyMatch(m -> m.active() && m.nodes().contains(node));
    }

    private String self() {
      return "manager#" + epoch;
    }

    /** The simulated clock is both monotonic and the wall clock. */
    private MoveProcess.Now now() {
      return MoveProcess.Now.at(scheduler.nowMicros() / MS);
    }

    /**
     * A move as QueryRegistry starts it: with pre-copy on, every node first snapshots while it runs
     * and the move begins once each has answered or its ask timed out (nothing is journaled before:
     * a manager crash forgets it); without, at once.
     */
    void start(List<NodeId> nodes, Map<NodeId, Site> from, Site to) {
      if (!preCopy) {
        begin(nodes, from, to);
        return;
      }
      PreCopying p = new PreCopying("pc" + (++moveCount), nodes, from, to, new HashSet<>(nodes));
      operations.add(event("pre-copy", p.id() + " " + nodes + " at " + from.values().iterator().next()));
      for (NodeId n : nodes) {
        long askId = ++askCount;
        preCopyAsks.put(askId, new PreCopyAsk(p, n));
        network.sendControl(self(), new SimNetwork.ToNode(n.value()), new Message.PreCopy(p.id(), epoch, askId));
        scheduler.after(askTimeoutMicros, "manager", "pre-copy-timeout", p.id() + " " + n, () -> preCopyAnswered(askId));
      }
    }

    /** An answer to a pre-copy ask, or its time-out: either way the node no longer holds its move up. */
    private void preCopyAnswered(long askId) {
      PreCopyAsk a = preCopyAsks.remove(askId);
      if (a == null) {
        return;
      }
      a.move().waiting().remove(a.node());
      if (!a.move().waiting().isEmpty()) {
        return;
      }
      // Checked again, as QueryRegistry's begin: another move may have taken a node meanwhile.
      PreCopying p = a.move();
      for (NodeId n : p.nodes()) {
        if (moving(n) || !p.from().get(n).name().equals(siteOf.get(n.value()))) {
          operations.add(event("pre-copy-dropped", p.id() + ": " + n + " moved meanwhile"));
          return;
        }
      }
      begin(p.nodes(), p.from(), p.to());
    }

    private void begin(List<NodeId> nodes, Map<NodeId, Site> from, Site to) {
      MigrationId id = new MigrationId("m" + (++moveCount));
      List<String> instances = nodes.stream().map(n -> live.containsKey(n.value()) ? live.get(n.value()).instance() : n.value() + "(down)").toList();
      operations.add(event("move", id + " " + nodes + " from " + instances + " at " + from.values().iterator().next() + " to " + to));
      MoveProcess.Begun begun = MoveProcess.start(id, graph.id(), nodes, from, to, settings, now());
      running.put(id, begun.process());
      decide(begun.process(), begun.decision());
      if (pLateDeadPause > 0 && random.chance(0.25)) {
        // The manager dies with this move's pauses on the wire: the case late pauses come from.
        scheduler.after(random.between(0, MS), "sim", "manager-crash-mid-stop", id.value(), ProtocolSimulation.this::crashManager);
      }
    }

    void crash() {
      // Pauses still in flight from this manager: some land only after its successor has rolled their move back.
      for (MoveProcess p : running.values()) {
        if (p.phase() instanceof MoveProcess.Stopping s) {
          for (NodeId n : s.waitingFor()) {
            if (random.chance(pLateDeadPause)) {
              long late = random.between(managerRestartMinMicros + restartDelayMaxMicros, managerRestartMinMicros + restartDelayMaxMicros + 3000 * MS);
              faults.add(event("late-pause", p.move().id() + " to " + n + " lands in " + late / MS + " ms"));
              network.sendLate(self(), new SimNetwork.ToNode(n.value()), new Message.Pause(p.move().id().value(), epoch, Message.NO_ASK), late);
            }
          }
        }
      }
      up = false;
      epoch++;
      running.clear();
      asks.clear();
      preCopyAsks.clear();
      recorded.clear();
      timers.clear();
    }

    void restart() {
      up = true;
      for (MoveProcess.Event e : journal) {
        record(e);
      }
      for (MoveProcess.Move m : recorded.values()) {
        if (m.active()) {
          operations.add(event("recover", m.id() + " at stage " + m.stage()));
          MoveProcess.Begun begun = MoveProcess.recover(m, settings, now());
          running.put(m.id(), begun.process());
          decide(begun.process(), begun.decision());
        }
      }
    }

    void receive(Message m) {
      // An answer counts only while its ask waits: not after the ask timed out, nor from a tell.
      if (m instanceof Message.PreCopiedAt p) {
        preCopyAnswered(p.askId());
      } else if (m instanceof Message.NotResumed n && preCopyAsks.containsKey(n.askId())) {
        preCopyAnswered(n.askId()); // cannot pre-copy: moved with a snapshot at its stop
      } else if (m instanceof Message.PausedAt p && answered(p.askId())) {
        input(p.migrationId(), new MoveProcess.PausedAt(p.node(), p.seqNr()));
      } else if (m instanceof Message.ResumedAt r && answered(r.askId())) {
        input(r.migrationId(), new MoveProcess.ResumedAt(r.node()));
      } else if (m instanceof Message.PausedByOther o && answered(o.askId())) {
        MigrationId other = new MigrationId(o.pausedBy());
        MoveProcess.Move held = recorded.get(other);
        input(o.migrationId(), held == null || !held.active()
            ? new MoveProcess.HeldByEnded(o.node(), other)
            : new MoveProcess.Refused(o.node(), "already paused by migration " + other));
      } else if (m instanceof Message.NotResumed n && answered(n.askId())) {
        input(n.migrationId(), n.reason().equals(LogicNode.NOT_RUNNING)
            ? new MoveProcess.NotRunning(n.node())
            : new MoveProcess.Refused(n.node(), n.reason()));
      }
    }

    private boolean answered(long askId) {
      return asks.remove(askId);
    }

    /** Sends a move message as an ask: without an answer within the ask timeout, the process hears {@link MoveProcess.AskLost}. */
    private void ask(MigrationId id, NodeId node, java.util.function.LongFunction<Message> message) {
      long askId = ++askCount;
      asks.add(askId);
      network.sendControl(self(), new SimNetwork.ToNode(node.value()), message.apply(askId));
      scheduler.after(askTimeoutMicros, "manager", "ask-timeout", id + " " + node, () -> {
        if (asks.remove(askId)) {
          input(id.value(), new MoveProcess.AskLost(node, "no answer from " + node + " within " + askTimeoutMicros / MS + " ms"));
        }
      });
    }

    private void input(String migrationId, MoveProcess.Input in) {
      MoveProcess p = running.get(new MigrationId(migrationId));
      if (p != null) {
        decide(p, p.on(in, now()));
      }
    }

    private void record(MoveProcess.Event e) {
      recorded.put(e.id(), e instanceof MoveProcess.MigrationStarted s ? MoveProcess.Move.started(s) : recorded.get(e.id()).apply(e));
    }

    /** The journal write is immediate; then the effects run, as after Pekko's persist. */
    private void decide(MoveProcess p, MoveProcess.Decision d) {
      MigrationId id = p.move().id();
      for (MoveProcess.Event e : d.events()) {
        journal.add(e);
        record(e);
        if (e instanceof MoveProcess.MigrationPaused paused) {
          operations.add(event("paused", id + " checkpoints " + paused.checkpoints()));
        } else if (e instanceof MoveProcess.NodesPlaced n && n.rollback()) {
          operations.add(event("rollback", id + " " + n.reason()));
        }
      }
      for (MoveProcess.Effect effect : d.effects()) {
        if (effect instanceof MoveProcess.AskPause a) {
          ask(id, a.node(), askId -> new Message.Pause(id.value(), epoch, askId));
        } else if (effect instanceof MoveProcess.WriteLocations w) {
          w.sites().forEach((n, site) -> relocate(n.value(), site.name()));
        } else if (effect instanceof MoveProcess.AskResume a) {
          // As QueryRegistry: asked once the location at that site is written (the old instance may still answer).
          if (a.site().name().equals(siteOf.get(a.node().value()))) {
            ask(id, a.node(), askId -> new Message.Resume(id.value(), a.site().name(), a.checkpointSeqNr(), epoch, askId));
          }
        } else if (effect instanceof MoveProcess.ClearPause c) {
          operations.add(event("clear-pause", c.node() + " held by ended " + c.ended() + ", seen by " + id));
          network.sendControl(self(), new SimNetwork.ToNode(c.node().value()),
              new Message.Resume(c.ended().value(), siteOf.get(c.node().value()), 0, epoch, Message.NO_ASK));
        } else if (effect instanceof MoveProcess.StartTimer t) {
          int generation = timers.merge(id, 1, Integer::sum);
          int asOf = epoch;
          scheduler.after(t.delay().toNanos() / 1000, "manager", "move-timer", id.value(), () -> {
            if (up && epoch == asOf && timers.getOrDefault(id, -1) == generation) {
              input(id.value(), new MoveProcess.TimerFired());
            }
          });
        } else if (effect instanceof MoveProcess.Finish f) {
          running.remove(id);
          timers.remove(id);
          finished(recorded.get(id), f.outcome());
        }
      }
    }

    private void finished(MoveProcess.Move m, MigrationReport.Outcome outcome) {
      if (outcome == MigrationReport.Outcome.COMPLETED) {
        long pausedAt = m.steps().stream().filter(s -> s.name() == MigrationReport.StepName.STOP).findFirst()
            .map(MigrationReport.Step::atMillis).orElse(m.startedAtMillis());
        pausesMillis.add(m.endedAtMillis() - pausedAt);
        operations.add(event("resumed", m.id() + " " + m.nodes() + " at " + m.to() + " after a pause of " + (m.endedAtMillis() - pausedAt) + " ms"));
      } else {
        operations.add(event("rolled-back", m.id() + " " + m.nodes() + " at " + m.from() + ": " + m.reason()));
      }
    }
  }

  /** A move whose nodes are pre-copying: it begins once {@code waiting} is empty. */
  private record PreCopying(String id, List<NodeId> nodes, Map<NodeId, Site> from, Site to, Set<NodeId> waiting) {}

  private record PreCopyAsk(PreCopying move, NodeId node) {}

  private RunReport.Event event(String kind, String detail) {
    return new RunReport.Event(scheduler.nowMicros() / MS, kind, detail);
  }

  // ---- report -------------------------------------------------------------------------------

  private RunReport report(Optional<String> failure) {
    List<Row> reference = ReferenceRun.run(graph, 10 * records + 10_000).get(new NodeId(SampleQuery.SINK));
    List<Row> actual = reader.rows();
    List<SingleOwnerCheck.Interval> all = new ArrayList<>(intervals);
    live.values().forEach(n -> all.add(new SingleOwnerCheck.Interval(
        n.node().value(), n.instance(), startedAtMicros.get(n.instance()), Long.MAX_VALUE)));
    Map<String, Long> finished = new LinkedHashMap<>();
    if (reader.done()) {
      finished.put(SampleQuery.SINK, reader.doneAtMicros() / MS);
    }
    List<RunReport.Verdict> verdicts = new ArrayList<>();
    verdicts.add(OnceOnlyCheck.check(SampleQuery.SINK, reference, actual));
    verdicts.add(SingleOwnerCheck.check(all));
    verdicts.add(LivenessCheck.check(
        List.of(SampleQuery.SINK), true, finished, reader.throughput(), healAtMicros / MS, options.livenessBoundMillis()));
    boolean invariantsHeld = failure.isEmpty() && gaps.isEmpty() && reader.gaps() == 0;
    verdicts.add(new RunReport.Verdict(
        "protocol-invariants",
        invariantsHeld,
        failure.orElse(gaps.isEmpty() && reader.gaps() == 0
            ? scheduler.processed() + " events, no invariant broken (" + stalePulls + " stale pulls below the log's base, harmless)"
            : "rows dropped before every consumer had them: " + gaps + " reader gaps=" + reader.gaps())));
    return new RunReport(
        SCENARIO,
        TIER,
        seed,
        "./ferry simulate --tier deterministic --seed " + seed + (options.dedup() ? "" : " --no-dedup"),
        scheduler.nowMicros() / MS,
        probabilities,
        faults,
        operations,
        List.of(OnceOnlyCheck.figures(SampleQuery.SINK, reference, actual)),
        SingleOwnerCheck.overlaps(all).size(),
        pausesMillis,
        Map.of(),
        reader.throughput(),
        verdicts,
        scheduler.traceHash());
  }
}
