package io.ferry.runtime.internal;

import com.typesafe.config.Config;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.placement.plan.CostModel;
import io.ferry.placement.plan.Decision;
import io.ferry.placement.plan.PlacementManager;
import io.ferry.placement.plan.PlanGraph;
import io.ferry.placement.plan.PlanNode;
import io.ferry.placement.plan.Topology;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryId;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The runtime shell of the placement manager: a persistent cluster singleton that, every
 * re-plan interval, builds the {@link Topology} from the live membership and the members'
 * {@link PlacementProbe} reports, the {@link PlanGraph}s from the deployed queries with their
 * measured rates, runs the production {@link PlacementManager} and, for queries in automatic
 * mode, runs its move orders one after another through the query registry's migration process
 * (the same path as {@code POST /migrations}). Decisions and users' pins are persisted; the
 * decision history is bounded. Everything that decides is in {@link PlacementManager}.
 */
public final class PlacementHost extends EventSourcedBehavior<PlacementHost.Command, PlacementHost.Event, PlacementHost.State> {
  /** Decisions kept (oldest dropped first). */
  public static final int HISTORY_MAX = 1_000;

  public sealed interface Command extends CborSerializable {}

  public record GetDecisions(ActorRef<Decisions> replyTo) implements Command {}

  public record GetView(ActorRef<View> replyTo) implements Command {}

  /** A user's migration instruction was accepted: it pins its nodes (claim 6). */
  public record UserMigration(MigrationInstruction instruction) implements Command {}

  public record UserMoveEnded(MigrationInstruction instruction, boolean committed, String detail) implements Command {}

  /** Overrides a site's cores (negative: back to the configured or counted cores). */
  public record SetCapacity(String site, double cores) implements Command {}

  /** Sets the cluster's mode (query null) or one query's (mode null: the cluster's again). */
  public record SetMode(String query, String mode) implements Command {}

  /**
   * Sets the cluster's mode ({@code query} null) or one query's ({@code mode} "default": the
   * cluster's again) and says whether it did: {@code error} null, else why not.
   */
  public record ChangeMode(String query, String mode, ActorRef<Changed> replyTo) implements Command {}

  /** Lifts a user's pin of a node: the manager may move it again. */
  public record Unpin(String query, String node, ActorRef<Changed> replyTo) implements Command {}

  /** {@code error} null: done; else why not. */
  public record Changed(String error) implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record Listed(Set<ActorRef<PlacementProbe.Command>> probes) implements Command {}

  private record Reported(PlacementProbe.Report report) implements Command {}

  private record QueriesGot(QueryRegistry.Queries queries) implements Command {}

  private record OrderEnded(MigrationInstruction instruction, boolean committed, String detail) implements Command {}

  public record Decisions(List<DecisionMade> decisions) implements CborSerializable {}

  /** What the manager last saw: sites and the links between them, the nodes' and members' measurements. */
  public record View(List<SiteView> sites, List<LinkView> links, List<NodeView> nodes, List<MemberView> members) implements CborSerializable {}

  public record SiteView(String site, String tier, double cores, double loadCores, boolean live) implements CborSerializable {}

  /**
   * A site pair: probed RTT (negative: not probed), bytes/s the query edges crossing it carried
   * since the previous re-plan, the share of pulls across it that timed out and were sent again
   * (negative: no pulls crossed it), and the configured capacity.
   */
  public record LinkView(String from, String to, double rttMs, double usedBytesPerSec, double lossRatio, double capacityBytesPerSec)
      implements CborSerializable {}

  /** A node's measured rates since the previous re-plan (negative: not measured), backlog and state entries now. */
  public record NodeView(String query, String node, String site, double inRowsPerSec, double outRowsPerSec, double backlogRows, double stateEntries)
      implements CborSerializable {}

  /** A member's CPU (0..1 of its processors; negative: unknown) and mean journal write time since its previous report (negative: no writes). */
  public record MemberView(String address, String site, double cpu, double journalWriteMs) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  /** One decision, flat so it reads back whatever the planner's records become. */
  public record DecisionMade(long at, String query, String node, String kind, String from, String to, String reason) implements Event {
    static DecisionMade of(Decision d) {
      return new DecisionMade(d.atMillis(), d.query().value(), d.node().map(NodeId::value).orElse(null), d.kind().label(), d.from().name(), d.to().name(), d.reason());
    }

    public String line() {
      return "decision " + kind + " query=" + query + " node=" + (node == null ? "*" : node) + " " + from + " -> " + to + ": " + reason;
    }
  }

  public record Pinned(String query, String node, String site) implements Event {}

  public record Unpinned(String query, String node) implements Event {}

  /**
   * A user set a placement mode: {@code query} null is the cluster's mode; {@code mode} null for a
   * query means it follows the cluster's again. Replayed on a restart, like pins.
   */
  public record ModeSet(String query, String mode) implements Event {}

  /** The key of the cluster's own mode in {@link State#modes()}: no query id has a slash. */
  static final String CLUSTER_MODE = "/";

  /** @param modes a query's mode, or the cluster's under {@link #CLUSTER_MODE} (absent: the configured one) */
  public record State(List<DecisionMade> decisions, Map<String, String> pins, Map<String, String> modes) implements CborSerializable {
    public State {
      modes = modes == null ? Map.of() : modes;
    }

    public State(List<DecisionMade> decisions, Map<String, String> pins) {
      this(decisions, pins, Map.of());
    }

    State with(Event e) {
      if (e instanceof DecisionMade d) {
        List<DecisionMade> all = new ArrayList<>(decisions.size() < HISTORY_MAX ? decisions : decisions.subList(decisions.size() - HISTORY_MAX + 1, decisions.size()));
        all.add(d);
        return new State(List.copyOf(all), pins, modes);
      }
      if (e instanceof ModeSet m) {
        Map<String, String> next = new TreeMap<>(modes);
        String key = m.query() == null ? CLUSTER_MODE : m.query();
        if (m.mode() == null) {
          next.remove(key);
        } else {
          next.put(key, m.mode());
        }
        return new State(decisions, pins, Map.copyOf(next));
      }
      Map<String, String> next = new TreeMap<>(pins);
      if (e instanceof Unpinned u) {
        next.remove(u.query() + "/" + u.node());
      } else {
        Pinned p = (Pinned) e;
        next.put(p.query() + "/" + p.node(), p.site());
      }
      return new State(decisions, Map.copyOf(next), modes);
    }
  }

  /**
   * @param measuredLoad {@code process}: a site's load is its members' process CPU (one member per
   *     JVM); {@code nodes}: the cores its logic nodes use by their measured rates (members sharing
   *     a JVM, as in the demo and tests)
   */
  public record Settings(PlacementManager.Settings manager, CostModel cost, Map<String, Double> siteCores, String measuredLoad, Topology.Link defaultLink, Duration migrationTimeout) {
    public static Settings fromConfig(Config config, Duration migrationTimeout) {
      Config p = config.getConfig("ferry.placement");
      Map<String, Double> cores = new TreeMap<>();
      Config sites = p.getConfig("sites");
      for (String s : sites.root().keySet()) {
        cores.put(s, sites.getDouble(s + ".cores"));
      }
      String load = p.getString("measured-load");
      if (!load.equals("process") && !load.equals("nodes")) {
        throw new IllegalArgumentException("ferry.placement.measured-load must be process or nodes, got '" + load + "'");
      }
      Config d = p.getConfig("default-link");
      return new Settings(PlacementManager.Settings.fromConfig(p), CostModel.fromConfig(p), cores, load,
          Topology.Link.fallback(d.getDuration("rtt"), d.getBytes("bandwidth")), migrationTimeout);
    }
  }

  public static Behavior<Command> create(ActorRef<QueryRegistry.Command> registry, Settings settings) {
    return Behaviors.withTimers(
        timers ->
            Behaviors.setup(
                ctx -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.manager().rePlanInterval());
                  ActorRef<Receptionist.Listing> listing =
                      ctx.messageAdapter(Receptionist.Listing.class, l -> new Listed(l.getServiceInstances(PlacementProbe.KEY)));
                  ctx.getSystem().receptionist().tell(Receptionist.subscribe(PlacementProbe.KEY, listing));
                  return new PlacementHost(ctx, registry, settings);
                }));
  }

  private final ActorContext<Command> ctx;
  private final ActorRef<QueryRegistry.Command> registry;
  private final Settings settings;
  private final PlacementManager manager;
  private final ActorRef<PlacementProbe.Report> reportAdapter;
  private Set<ActorRef<PlacementProbe.Command>> probes = Set.of();
  /** The latest report of each member, by address. */
  private final Map<String, PlacementProbe.Report> reports = new HashMap<>();
  /** Row totals per query/node at the previous tick, and when (nanos): rates are their differences. */
  private Map<String, double[]> lastTotals = Map.of();
  private long lastTotalsNanos;
  private final Map<String, Double> capacity = new HashMap<>();
  private final Map<String, Tier> tiers = new HashMap<>();
  private final Deque<PlacementManager.MoveOrder> orders = new ArrayDeque<>();
  private boolean ordering;
  private boolean asking;
  private View view = new View(List.of(), List.of(), List.of(), List.of());
  /** Wire counters summed over members at the previous re-plan: "bytes q/u>x", "pulls q/x<u", "timeouts q/x<u". */
  private Map<String, Double> lastWire = Map.of();
  /** Per site pair ("a b", a before b): bytes/s carried and {timeouts, pulls} in the last interval. */
  private Map<String, Double> linkUse = Map.of();
  private Map<String, double[]> linkLoss = Map.of();
  private List<NodeView> nodeViews = List.of();
  /** Gauges of the links this member's registry publishes: {rtt ms, used bytes/s, loss ratio} per pair. */
  private final Map<String, double[]> linkGauges = new HashMap<>();
  /** The last re-plan's inputs, so a view asked for between re-plans shows the membership of now. */
  private Map<String, PlacementProbe.Report> lastReports = Map.of();
  private Map<QueryId, PlanGraph> lastGraphs = Map.of();
  private Map<QueryId, Map<NodeId, Site>> lastPlaced = Map.of();
  private Map<QueryId, Map<NodeId, PlanGraph.Measured>> lastMeasured = Map.of();

  private PlacementHost(ActorContext<Command> ctx, ActorRef<QueryRegistry.Command> registry, Settings settings) {
    super(PersistenceId.ofUniqueId("ferry-placement-manager"));
    this.ctx = ctx;
    this.registry = registry;
    this.settings = settings;
    this.manager = PlacementManager.create(settings.manager(), settings.cost());
    this.reportAdapter = ctx.messageAdapter(PlacementProbe.Report.class, Reported::new);
  }

  @Override
  public State emptyState() {
    return new State(List.of(), Map.of());
  }

  /** The cluster's mode a user set outlives a restart (a query's is given back when the query is seen again). */
  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> Optional.ofNullable(s.modes().get(CLUSTER_MODE))
            .ifPresent(m -> manager.mode(PlacementManager.Mode.parse(m))))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::with);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Listed.class, (s, l) -> {
          probes = l.probes();
          return Effect().none();
        })
        .onCommand(Reported.class, (s, r) -> {
          reports.put(r.report().address(), r.report());
          return Effect().none();
        })
        .onCommand(Tick.class, (s, t) -> onTick(s))
        .onCommand(QueriesGot.class, this::onQueries)
        .onCommand(OrderEnded.class, this::onOrderEnded)
        .onCommand(UserMigration.class, this::onUserMigration)
        .onCommand(UserMoveEnded.class, (s, u) -> {
          if (!known(u.instruction().query())) {
            return Effect().none();
          }
          return persistDecisions(manager.moveEnded(u.instruction().query(), u.instruction().nodes(), u.instruction().toSite(), u.committed(), u.detail(), System.currentTimeMillis()));
        })
        .onCommand(SetCapacity.class, (s, c) -> {
          if (c.cores() < 0) {
            capacity.remove(c.site());
          } else {
            capacity.put(c.site(), c.cores());
          }
          return Effect().none();
        })
        .onCommand(SetMode.class, (s, m) -> {
          Optional<PlacementManager.Mode> mode;
          try {
            mode = Optional.ofNullable(m.mode()).map(PlacementManager.Mode::parse);
          } catch (IllegalArgumentException e) {
            ctx.getLog().warn("placement mode not changed: {}", e.getMessage());
            return Effect().none();
          }
          if (m.query() == null && mode.isEmpty()) {
            ctx.getLog().warn("placement mode not changed: the cluster's mode cannot be unset");
            return Effect().none();
          }
          if (m.query() == null) {
            manager.mode(mode.get());
          } else if (known(new QueryId(m.query()))) {
            manager.mode(new QueryId(m.query()), mode);
          }
          return Effect().persist(new ModeSet(m.query(), mode.map(PlacementManager.Mode::label).orElse(null)));
        })
        .onCommand(ChangeMode.class, this::onChangeMode)
        .onCommand(Unpin.class, this::onUnpin)
        .onCommand(GetDecisions.class, (s, g) -> {
          g.replyTo().tell(new Decisions(s.decisions()));
          return Effect().none();
        })
        .onCommand(GetView.class, (s, g) -> {
          // the membership as it is now (a member may have joined since the last re-plan; before
          // the first one each site has its counted cores and no load), the last tick's measurements
          topology(lastReports, lastGraphs, lastPlaced, lastMeasured);
          g.replyTo().tell(view);
          return Effect().none();
        })
        .build();
  }

  private Effect<Event, State> onChangeMode(State state, ChangeMode c) {
    Optional<PlacementManager.Mode> mode;
    try {
      mode = c.mode().equals("default") && c.query() != null ? Optional.empty() : Optional.of(PlacementManager.Mode.parse(c.mode()));
    } catch (IllegalArgumentException e) {
      c.replyTo().tell(new Changed(e.getMessage() + (c.query() != null ? " (or default: the cluster's)" : "")));
      return Effect().none();
    }
    if (c.query() == null) {
      manager.mode(mode.get());
    } else if (known(new QueryId(c.query()))) {
      manager.mode(new QueryId(c.query()), mode);
    } else {
      c.replyTo().tell(new Changed("the placement manager has not seen a query '" + c.query() + "' (it re-plans every "
          + settings.manager().rePlanInterval() + ")"));
      return Effect().none();
    }
    ctx.getLog().info("placement mode of {} set to {}", c.query() == null ? "the cluster" : "query " + c.query(), mode.map(PlacementManager.Mode::label).orElse("the cluster's"));
    return Effect().persist(new ModeSet(c.query(), mode.map(PlacementManager.Mode::label).orElse(null)))
        .thenRun(s -> c.replyTo().tell(new Changed(null)));
  }

  private Effect<Event, State> onUnpin(State state, Unpin u) {
    if (!state.pins().containsKey(u.query() + "/" + u.node())) {
      u.replyTo().tell(new Changed("node '" + u.node() + "' of query '" + u.query() + "' is not pinned"));
      return Effect().none();
    }
    if (known(new QueryId(u.query()))) {
      manager.unpin(new QueryId(u.query()), new NodeId(u.node()));
    }
    return Effect().persist(new Unpinned(u.query(), u.node())).thenRun(s -> u.replyTo().tell(new Changed(null)));
  }

  private boolean known(QueryId q) {
    try {
      manager.placement(q);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private Effect<Event, State> onTick(State state) {
    if (!asking) {
      asking = true;
      ctx.ask(QueryRegistry.Queries.class, registry, settings.manager().rePlanInterval(), QueryRegistry.GetQueries::new,
          (q, failure) -> new QueriesGot(q == null ? null : q));
    }
    return Effect().none();
  }

  private Effect<Event, State> onQueries(State state, QueriesGot got) {
    asking = false;
    // reports answered since the last tick become this tick's measurements; ask for the next ones
    Map<String, PlacementProbe.Report> now = Map.copyOf(reports);
    reports.clear();
    probes.forEach(p -> p.tell(new PlacementProbe.GetReport(reportAdapter)));
    if (got.queries() == null) {
      return Effect().none();
    }
    long nowMillis = System.currentTimeMillis();
    Map<QueryId, PlanGraph> graphs = new LinkedHashMap<>();
    Map<QueryId, Map<NodeId, Site>> placed = new LinkedHashMap<>();
    for (QueryRegistry.QueryInfo q : got.queries().queries()) {
      Map<NodeId, Site> at = new LinkedHashMap<>();
      q.sites().forEach((n, s) -> at.put(new NodeId(n), Site.of(s)));
      Map<NodeId, Site> sources = new HashMap<>();
      Optional<Site> sink = Optional.empty();
      for (NodeSpec n : q.nodes()) {
        if (n.op().isSource()) {
          sources.put(n.id(), at.get(n.id()));
        } else if (n.op().isSink() && sink.isEmpty()) {
          sink = Optional.ofNullable(at.get(n.id()));
        }
      }
      graphs.put(q.query(), PlanGraph.estimate(q.query(), q.nodes(), sources, sink, PlanGraph.Estimates.defaults()));
      placed.put(q.query(), at);
    }
    Map<QueryId, Map<NodeId, PlanGraph.Measured>> measured = measure(now, graphs);
    measureWire(now, got.queries(), placed, measured);
    Topology topology = topology(now, graphs, placed, measured);
    lastReports = now;
    lastGraphs = graphs;
    lastPlaced = placed;
    lastMeasured = measured;
    if (topology == null) {
      return Effect().none();
    }
    List<Event> events = new ArrayList<>();
    for (Map.Entry<QueryId, PlanGraph> g : graphs.entrySet()) {
      if (!known(g.getKey())) {
        manager.deployed(g.getValue(), placed.get(g.getKey()));
        // so do the modes a user set for it
        Optional.ofNullable(state.modes().get(g.getKey().value()))
            .ifPresent(m -> manager.mode(g.getKey(), Optional.of(PlacementManager.Mode.parse(m))));
        // a user's pins outlive a restart of the manager
        state.pins().forEach((k, site) -> {
          if (k.startsWith(g.getKey().value() + "/")) {
            MigrationInstruction pin = new MigrationInstruction(g.getKey(), List.of(new NodeId(k.substring(k.indexOf('/') + 1))), Site.of(site));
            manager.userMigration(pin, topology, nowMillis);
          }
        });
      }
    }
    for (QueryId q : new ArrayList<>(knownQueries)) {
      if (!graphs.containsKey(q)) {
        manager.removed(q);
        knownQueries.remove(q);
      }
    }
    knownQueries.addAll(graphs.keySet());
    PlacementManager.Outcome outcome = manager.tick(nowMillis, topology, measured);
    outcome.decisions().forEach(d -> events.add(DecisionMade.of(d)));
    orders.addAll(outcome.moves());
    startNextOrder();
    return persist(events);
  }

  private final Set<QueryId> knownQueries = new TreeSet<>((a, b) -> a.value().compareTo(b.value()));

  private Effect<Event, State> persist(List<Event> events) {
    if (events.isEmpty()) {
      return Effect().none();
    }
    for (Event e : events) {
      if (e instanceof DecisionMade d) {
        ctx.getLog().info(d.line());
      }
    }
    return Effect().persist(events);
  }

  private Effect<Event, State> persistDecisions(List<Decision> decisions) {
    return persist(decisions.stream().<Event>map(DecisionMade::of).toList());
  }

  private void startNextOrder() {
    if (ordering || orders.isEmpty()) {
      return;
    }
    ordering = true;
    PlacementManager.MoveOrder order = orders.poll();
    MigrationInstruction in = order.instruction();
    ctx.ask(QueryRegistry.MigrateReply.class, registry, settings.migrationTimeout(), r -> new QueryRegistry.Migrate(in, r),
        (reply, failure) -> {
          if (reply instanceof QueryRegistry.MigrationEnded e) {
            MigrationReport report = ApiRecords.report(e);
            return new OrderEnded(in, report.outcome() == MigrationReport.Outcome.COMPLETED, report.outcome() + " " + report.reason());
          }
          if (reply instanceof QueryRegistry.Rejected r) {
            return new OrderEnded(in, false, "refused: " + r.reason());
          }
          return new OrderEnded(in, false, "no answer: " + failure);
        });
  }

  private Effect<Event, State> onOrderEnded(State state, OrderEnded ended) {
    ordering = false;
    List<Decision> out = known(ended.instruction().query())
        ? manager.moveEnded(ended.instruction().query(), ended.instruction().nodes(), ended.instruction().toSite(), ended.committed(), ended.detail(), System.currentTimeMillis())
        : List.of();
    startNextOrder();
    return persistDecisions(out);
  }

  private Effect<Event, State> onUserMigration(State state, UserMigration u) {
    MigrationInstruction in = u.instruction();
    if (!known(in.query()) || view.sites().isEmpty()) {
      // not seen yet: the pin is kept and applied when the manager first sees the query ("?": where
      // the node ran is the registry's to know, the manager has not read it yet)
      List<Event> events = new ArrayList<>();
      for (NodeId n : in.nodes()) {
        events.add(new DecisionMade(System.currentTimeMillis(), in.query().value(), n.value(), "executed", "?", in.toSite().name(),
            "a user's migration instruction; pinned at " + in.toSite() + " until unpinned"));
        events.add(new Pinned(in.query().value(), n.value(), in.toSite().name()));
      }
      return persist(events);
    }
    long now = System.currentTimeMillis();
    List<Decision> decisions = manager.userMigration(in, topologyOf(view), now);
    List<Event> events = new ArrayList<>();
    decisions.forEach(d -> events.add(DecisionMade.of(d)));
    if (decisions.stream().allMatch(d -> d.kind() == Decision.Kind.EXECUTED)) {
      manager.moveStarted(in.query(), in.nodes(), now);
      in.nodes().forEach(n -> events.add(new Pinned(in.query().value(), n.value(), in.toSite().name())));
    }
    return persist(events);
  }

  /** Above this a measured loss is capped: the planner's resend factor 1/(1-loss) stays finite. */
  static final double MAX_LOSS = 0.9;

  /**
   * From the members' wire counters: bytes/s and the pull-timeout share per site pair, summed over
   * the query edges whose two ends run at different sites; and each node's backlog and state now.
   */
  private void measureWire(Map<String, PlacementProbe.Report> now, QueryRegistry.Queries queries, Map<QueryId, Map<NodeId, Site>> placed,
      Map<QueryId, Map<NodeId, PlanGraph.Measured>> measured) {
    Map<String, Double> wire = new HashMap<>();
    Map<String, double[]> node = new HashMap<>();
    for (PlacementProbe.Report r : now.values()) {
      for (PlacementProbe.NodeTotal t : r.nodes()) {
        String q = t.query() + "/";
        t.sentBytes().forEach((x, b) -> wire.merge("bytes " + q + t.node() + ">" + x, b, Double::sum));
        t.pulls().forEach((u, n) -> wire.merge("pulls " + q + t.node() + "<" + u, n, Double::sum));
        t.pullTimeouts().forEach((u, n) -> wire.merge("timeouts " + q + t.node() + "<" + u, n, Double::sum));
        double[] bs = node.computeIfAbsent(q + t.node(), k -> new double[2]);
        bs[0] += t.backlogRows();
        bs[1] += t.stateEntries();
      }
    }
    double seconds = (System.nanoTime() - lastWireNanos) / 1e9;
    Map<String, Double> use = new TreeMap<>();
    Map<String, double[]> loss = new TreeMap<>();
    List<NodeView> nodes = new ArrayList<>();
    for (QueryRegistry.QueryInfo q : queries.queries()) {
      Map<NodeId, Site> at = placed.get(q.query());
      Map<NodeId, PlanGraph.Measured> rates = measured.getOrDefault(q.query(), Map.of());
      for (NodeSpec x : q.nodes()) {
        String key = q.query().value() + "/" + x.id().value();
        double[] bs = node.getOrDefault(key, new double[2]);
        PlanGraph.Measured m = rates.get(x.id());
        nodes.add(new NodeView(q.query().value(), x.id().value(), at.containsKey(x.id()) ? at.get(x.id()).name() : "",
            m == null ? -1 : m.inRowsPerSec(), m == null ? -1 : m.outRowsPerSec(), bs[0], bs[1]));
        for (NodeId u : x.inputs()) {
          Site su = at.get(u);
          Site sx = at.get(x.id());
          if (su == null || sx == null || su.equals(sx)) {
            continue;
          }
          String pair = su.name().compareTo(sx.name()) < 0 ? su.name() + " " + sx.name() : sx.name() + " " + su.name();
          String prefix = q.query().value() + "/";
          double bytes = delta(wire, "bytes " + prefix + u.value() + ">" + x.id().value());
          double pulls = delta(wire, "pulls " + prefix + x.id().value() + "<" + u.value());
          double timeouts = delta(wire, "timeouts " + prefix + x.id().value() + "<" + u.value());
          if (bytes >= 0 && seconds > 0) {
            use.merge(pair, bytes / seconds, Double::sum);
          }
          if (pulls > 0) {
            double[] l = loss.computeIfAbsent(pair, k -> new double[2]);
            l[0] += Math.max(0, timeouts);
            l[1] += pulls;
          }
        }
      }
    }
    lastWire = wire;
    lastWireNanos = System.nanoTime();
    linkUse = use;
    linkLoss = loss;
    nodeViews = List.copyOf(nodes);
  }

  private long lastWireNanos;

  /** The counter's growth since the previous re-plan; negative when unknown (new, or its node moved and its meters restarted). */
  private double delta(Map<String, Double> wire, String key) {
    Double before = lastWire.get(key);
    Double after = wire.get(key);
    if (after == null) {
      return before == null ? 0 : -1;
    }
    return before == null || after < before ? -1 : after - before;
  }

  /** The links as gauges of this member's registry (the manager runs on one member at a time). */
  private void publish(List<LinkView> links) {
    io.micrometer.core.instrument.MeterRegistry registry = io.ferry.metrics.FerryMetrics.get(ctx.getSystem()).registry();
    for (LinkView l : links) {
      double[] g = linkGauges.get(l.from() + " " + l.to());
      if (g == null) {
        if (linkGauges.size() >= LINK_GAUGES_MAX) {
          continue;
        }
        double[] holder = new double[3];
        g = holder;
        linkGauges.put(l.from() + " " + l.to(), holder);
        io.micrometer.core.instrument.Tags tags = io.micrometer.core.instrument.Tags.of("a", l.from(), "b", l.to());
        io.micrometer.core.instrument.Gauge.builder("ferry.link.rtt.ms", holder, h -> h[0]).description("Probed round-trip time between two sites")
            .tags(tags).strongReference(true).register(registry);
        io.micrometer.core.instrument.Gauge.builder("ferry.link.used.bytes.per.second", holder, h -> h[1])
            .description("Bytes/s the query edges between two sites carried since the placement manager's previous re-plan").tags(tags)
            .strongReference(true).register(registry);
        io.micrometer.core.instrument.Gauge.builder("ferry.link.loss.ratio", holder, h -> h[2])
            .description("Share of pulls between two sites that timed out and were sent again (-1: none crossed)").tags(tags)
            .strongReference(true).register(registry);
      }
      g[0] = l.rttMs();
      g[1] = l.usedBytesPerSec();
      g[2] = l.lossRatio();
    }
  }

  /** Bounds the link gauges however many sites there are. */
  static final int LINK_GAUGES_MAX = 10_000;

  /** Rates per node from the difference of summed row totals since the previous tick. */
  private Map<QueryId, Map<NodeId, PlanGraph.Measured>> measure(Map<String, PlacementProbe.Report> now, Map<QueryId, PlanGraph> graphs) {
    Map<String, double[]> totals = new HashMap<>();
    for (PlacementProbe.Report r : now.values()) {
      for (PlacementProbe.NodeTotal t : r.nodes()) {
        double[] sum = totals.computeIfAbsent(t.query() + "/" + t.node(), k -> new double[2]);
        sum[0] += t.rowsIn();
        sum[1] += t.rowsOut();
      }
    }
    long nanos = System.nanoTime();
    double seconds = (nanos - lastTotalsNanos) / 1e9;
    Map<QueryId, Map<NodeId, PlanGraph.Measured>> out = new HashMap<>();
    if (!lastTotals.isEmpty() && seconds > 0) {
      for (Map.Entry<QueryId, PlanGraph> g : graphs.entrySet()) {
        Map<NodeId, PlanGraph.Measured> m = new HashMap<>();
        for (PlanNode n : g.getValue().nodes()) {
          String key = g.getKey().value() + "/" + n.id().value();
          double[] a = lastTotals.get(key);
          double[] b = totals.get(key);
          // a node that moved restarts its meters on its new member: no rate from that interval
          if (a != null && b != null && b[0] >= a[0] && b[1] >= a[1]) {
            // CPU per row stays the estimate: the batch timer includes the journal's wait
            m.put(n.id(), new PlanGraph.Measured((b[0] - a[0]) / seconds, (b[1] - a[1]) / seconds, n.outBytesPerRow(), n.cpuSecondsPerRow()));
          }
        }
        out.put(g.getKey(), m);
      }
    }
    if (!totals.isEmpty()) {
      lastTotals = totals;
      lastTotalsNanos = nanos;
    }
    return out;
  }

  private Topology topology(Map<String, PlacementProbe.Report> now, Map<QueryId, PlanGraph> graphs, Map<QueryId, Map<NodeId, Site>> placed,
      Map<QueryId, Map<NodeId, PlanGraph.Measured>> measured) {
    Map<String, Integer> processors = new TreeMap<>();
    Map<String, Double> processLoad = new TreeMap<>();
    Set<String> live = new TreeSet<>();
    Cluster cluster = Cluster.get(ctx.getSystem());
    for (org.apache.pekko.cluster.Member m : cluster.state().getMembers()) {
      if (m.status() != MemberStatus.up()) {
        continue;
      }
      Optional<Site> site = MemberRoles.site(m.getRoles());
      Optional<Tier> tier = MemberRoles.tier(m.getRoles());
      if (site.isEmpty() || tier.isEmpty()) {
        continue;
      }
      String s = site.get().name();
      live.add(s);
      tiers.put(s, tier.get());
      PlacementProbe.Report r = now.get(m.address().toString());
      int cores = r == null ? Runtime.getRuntime().availableProcessors() : r.processors();
      processors.merge(s, cores, Integer::sum);
      if (r != null && r.cpu() > 0) {
        processLoad.merge(s, r.cpu() * r.processors(), Double::sum);
      }
    }
    Map<String, Double> nodeLoad = new TreeMap<>();
    for (Map.Entry<QueryId, PlanGraph> g : graphs.entrySet()) {
      PlanGraph rated = g.getValue().withMeasured(measured.getOrDefault(g.getKey(), Map.of()));
      for (PlanNode n : rated.nodes()) {
        Site at = placed.get(g.getKey()).get(n.id());
        if (at != null) {
          nodeLoad.merge(at.name(), n.cores(), Double::sum);
        }
      }
    }
    Set<String> all = new TreeSet<>(live);
    placed.values().forEach(p -> p.values().forEach(s -> all.add(s.name())));
    List<Topology.SiteInfo> sites = new ArrayList<>();
    for (String s : all) {
      Tier tier = tiers.get(s);
      if (tier == null) {
        continue;
      }
      double cores = capacity.getOrDefault(s, settings.siteCores().getOrDefault(s, (double) processors.getOrDefault(s, Runtime.getRuntime().availableProcessors())));
      double load = settings.measuredLoad().equals("nodes") ? nodeLoad.getOrDefault(s, 0.0) : processLoad.getOrDefault(s, 0.0);
      sites.add(new Topology.SiteInfo(Site.of(s), tier, cores, load, live.contains(s)));
    }
    if (sites.isEmpty()) {
      return null;
    }
    // RTT per site pair: the mean of what members of either site measured to the other
    Map<String, double[]> rtt = new TreeMap<>();
    Set<String> known = new TreeSet<>();
    sites.forEach(s -> known.add(s.site().name()));
    for (PlacementProbe.Report r : now.values()) {
      for (Map.Entry<String, Double> e : r.rttMillis().entrySet()) {
        if (!known.contains(r.site()) || !known.contains(e.getKey()) || r.site().equals(e.getKey())) {
          continue;
        }
        String a = r.site().compareTo(e.getKey()) < 0 ? r.site() : e.getKey();
        String b = a.equals(r.site()) ? e.getKey() : r.site();
        double[] sum = rtt.computeIfAbsent(a + " " + b, k -> new double[2]);
        sum[0] += e.getValue();
        sum[1]++;
      }
    }
    List<LinkView> linkViews = new ArrayList<>();
    Set<String> pairs = new TreeSet<>(rtt.keySet());
    linkUse.keySet().stream().filter(pair -> Arrays.stream(pair.split(" ")).allMatch(known::contains)).forEach(pairs::add);
    for (String pair : pairs) {
      String[] ab = pair.split(" ");
      double[] sum = rtt.get(pair);
      double[] lost = linkLoss.get(pair);
      linkViews.add(new LinkView(ab[0], ab[1], sum == null ? -1 : sum[0] / sum[1], linkUse.getOrDefault(pair, 0.0),
          lost == null || lost[1] == 0 ? -1 : lost[0] / lost[1], settings.defaultLink().bandwidthBytesPerSec()));
    }
    List<MemberView> members = new ArrayList<>();
    now.values().forEach(r -> members.add(new MemberView(r.address(), r.site(), r.cpu(), r.journalWriteMs())));
    members.sort(java.util.Comparator.comparing(MemberView::address));
    view = new View(sites.stream().map(s -> new SiteView(s.site().name(), s.tier().label(), s.cores(), s.loadCores(), s.live())).toList(), linkViews,
        nodeViews, members);
    publish(linkViews);
    return topologyOf(view, settings.defaultLink());
  }

  /** The topology a {@link View} describes, with {@code defaultLink} for pairs not probed. */
  public static Topology topologyOf(View view, Topology.Link defaultLink) {
    List<Topology.SiteInfo> sites = view.sites().stream()
        .map(s -> new Topology.SiteInfo(Site.of(s.site()), Tier.parse(s.tier()), s.cores(), s.loadCores(), s.live()))
        .toList();
    // a link measured to carry more than its configured capacity evidently has more; a measured loss replaces the configured one
    List<Topology.Link> links = view.links().stream()
        .map(l -> new Topology.Link(Optional.of(Site.of(l.from())), Optional.of(Site.of(l.to())),
            l.rttMs() < 0 ? defaultLink.rtt() : Duration.ofNanos((long) (l.rttMs() * 1e6)),
            Math.max(defaultLink.bandwidthBytesPerSec(), l.usedBytesPerSec()), l.lossRatio() < 0 ? defaultLink.lossRatio() : Math.min(l.lossRatio(), MAX_LOSS)))
        .toList();
    return new Topology(sites, links, defaultLink);
  }

  private Topology topologyOf(View v) {
    return topologyOf(v, settings.defaultLink());
  }

  /**
   * Plans {@code graph} on {@code topology} by its estimated rates, without deploying it;
   * {@code ends} gives the sites of sources (needed: where their data arrives) and of sinks.
   */
  public static io.ferry.api.PlacementPlan plan(io.ferry.query.QueryGraph graph, Map<String, String> ends, Topology topology, CostModel cost) {
    List<NodeSpec> specs;
    try {
      specs = graph.compile();
    } catch (RuntimeException e) {
      throw new io.ferry.api.FerryException("the graph does not compile: " + e.getMessage());
    }
    Map<NodeId, Site> fixed = new HashMap<>();
    for (NodeSpec n : specs) {
      String site = ends.get(n.id().value());
      if (site != null && (n.op().isSource() || n.op().isSink())) {
        fixed.put(n.id(), Site.of(site));
      } else if (n.op().isSource()) {
        throw new io.ferry.api.FerryException("source '" + n.id() + "' needs a site in 'placement': where its data arrives");
      }
    }
    PlanGraph estimated = PlanGraph.estimate(graph.id(), specs, Map.of(), Optional.empty(), PlanGraph.Estimates.defaults());
    PlanGraph g = new PlanGraph(estimated.query(), estimated.nodes().stream()
        .map(n -> new PlanNode(n.id(), n.inputs(), n.inRowsPerSec(), n.outRowsPerSec(), n.outBytesPerRow(), n.cpuSecondsPerRow(), n.piiFields(),
            Optional.ofNullable(fixed.get(n.id()))))
        .toList());
    io.ferry.placement.plan.Plan p;
    try {
      p = io.ferry.placement.plan.Planner.plan(io.ferry.placement.plan.Planner.Request.of(g, topology, cost));
    } catch (RuntimeException e) {
      throw new io.ferry.api.FerryException("no plan: " + e.getMessage());
    }
    Map<String, String> sites = new TreeMap<>();
    p.sites().forEach((n, s) -> sites.put(n.value(), s.name()));
    Map<String, Double> cores = new TreeMap<>();
    p.coresBySite().forEach((s, c) -> cores.put(s.name(), c));
    Map<String, String> reasons = new TreeMap<>();
    p.reasons().forEach((n, r) -> reasons.put(n.value(), r));
    return new io.ferry.api.PlacementPlan(p.query().value(), sites, p.wanBytesPerSec(), cores, p.latencyMs(), p.costPerSecond(), reasons, p.method(), p.violations());
  }
}
