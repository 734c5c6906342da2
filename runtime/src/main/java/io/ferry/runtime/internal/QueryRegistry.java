package io.ferry.runtime.internal;

import io.ferry.api.EngineChoice;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MigrationId;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.MoveProcess;
import io.ferry.placement.MoveProcess.Move;
import io.ferry.placement.PiiRule;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.node.LogicNode;
import io.ferry.runtime.metrics.MemberMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The placement manager: a persistent cluster singleton that records deployed queries, where
 * each node runs, and the migrations that move them. It checks a deployment against the live
 * members, writes each node's shard location and keeps nodes started; it re-places nodes whose
 * member died on another member of the same site; and it runs migrations. A migration's steps
 * are decided by {@link MoveProcess} (the same class the simulator runs): this actor persists the
 * events it decides on and carries out its effects (asks to the nodes, location writes, timers),
 * so a manager that crashes mid-move rolls the move forward or back when it restarts.
 */
public final class QueryRegistry
    extends EventSourcedBehavior<QueryRegistry.Command, CborSerializable, QueryRegistry.State> {

  private static final int FINISHED_MIGRATIONS_MAX = 200;

  public sealed interface Command extends CborSerializable {}

  /** Deploys {@code graph} with {@code placement} (node id → site name), recording how its engine was chosen. */
  public record Deploy(QueryGraph graph, Map<String, String> placement, EngineChoice engine, ActorRef<DeployReply> replyTo) implements Command {}

  public record Undeploy(QueryId query, ActorRef<DeployReply> replyTo) implements Command {}

  public record GetQueries(ActorRef<Queries> replyTo) implements Command {}

  /** Starts a migration; the reply comes when it has ended (or at once, if it is refused). */
  public record Migrate(MigrationInstruction instruction, ActorRef<MigrateReply> replyTo) implements Command {}

  public record GetMigrations(ActorRef<Migrations> replyTo) implements Command {}

  public sealed interface DeployReply extends CborSerializable {}

  /** The query runs: node id → member address. */
  public record Deployed(QueryId query, String deploymentId, Map<String, String> members) implements DeployReply {}

  public record Undeployed(QueryId query) implements DeployReply {}

  /** Nothing was started or changed, for {@code reason}. */
  public record Rejected(String reason) implements DeployReply, MigrateReply {}

  public sealed interface MigrateReply extends CborSerializable {}

  public record MigrationEnded(MigrationReport report) implements MigrateReply {}

  public record Queries(List<QueryInfo> queries) implements CborSerializable {}

  public record Migrations(List<MigrationReport> migrations) implements CborSerializable {}

  /** One deployed query: node id → site, node id → member address (absent while unplaced). */
  public record QueryInfo(
      QueryId query, String deploymentId, List<NodeSpec> nodes, Map<String, String> sites, Map<String, String> members, EngineChoice engine)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record LocationsWritten(Map<String, String> locations, String failure) implements Command {}

  private record MoveReplied(MigrationId migrationId, NodeId node, LogicNode.MoveReply reply, String failure) implements Command {}

  private record MoveTimer(MigrationId migrationId) implements Command {}

  /** A node's answer to a move's pre-copy (or its failure); the move starts once every node answered. */
  private record PreCopyReplied(String preCopyId, NodeId node) implements Command {}

  // ---- events and state (the migrations' events are MoveProcess.Event)

  public sealed interface Event extends CborSerializable {}

  /** @param engine how its engine was chosen; null in events written before it was recorded (read as {@link EngineChoice#deployed()}) */
  public record QueryDeployed(QueryGraph graph, Map<String, String> placement, String deploymentId, EngineChoice engine) implements Event {
    public QueryDeployed {
      engine = engine == null ? EngineChoice.deployed() : engine;
    }
  }

  public record QueryUndeployed(QueryId query) implements Event {}

  /** A deployed query and where its nodes are placed now (moves change it). */
  public record Entry(QueryDeployed deployed, Map<String, String> placement) implements CborSerializable {}

  public record State(Map<String, Entry> queries, Map<MigrationId, Move> moves) implements CborSerializable {
    Map<String, String> placementOf(String query) {
      Entry e = queries.get(query);
      return e == null ? Map.of() : e.placement();
    }

    /** Applies one of the registry's events or one of a migration's. */
    State with(CborSerializable ev) {
      Map<String, Entry> q = new TreeMap<>(queries);
      Map<MigrationId, Move> m = new LinkedHashMap<>(moves);
      if (ev instanceof QueryDeployed d) {
        q.put(d.graph().id().value(), new Entry(d, Map.copyOf(d.placement())));
      } else if (ev instanceof QueryUndeployed u) {
        q.remove(u.query().value());
      } else if (ev instanceof MoveProcess.MigrationStarted s) {
        m.put(s.id(), Move.started(s));
        while (m.size() > FINISHED_MIGRATIONS_MAX && m.values().stream().anyMatch(x -> !x.active())) {
          m.values().stream().filter(x -> !x.active()).findFirst().ifPresent(x -> m.remove(x.id()));
        }
      } else if (ev instanceof MoveProcess.Event e) {
        Move mv = m.get(e.id()).apply(e);
        m.put(e.id(), mv);
        Entry entry = q.get(mv.query().value());
        if (e instanceof MoveProcess.NodesPlaced n && entry != null) {
          Map<String, String> placement = new TreeMap<>(entry.placement());
          n.sites().forEach((node, site) -> placement.put(node.value(), site.name()));
          q.put(mv.query().value(), new Entry(entry.deployed(), placement));
        }
      } else {
        throw new IllegalArgumentException("not a query registry event: " + ev);
      }
      return new State(q, m);
    }
  }

  /** Finds a logic node's entity. */
  public interface Nodes extends BiFunction<QueryId, NodeId, RecipientRef<LogicNode.Command>> {}

  /** Timings of the placement manager, read from {@code ferry.registry} and {@code ferry.migration}. */
  public record Settings(Duration tick, Duration removalGrace, Duration stepTimeout, Duration resumeRetry, Duration holdBeforeRestore) {}

  public static Behavior<Command> create(Nodes nodes, ShardLocations locations, Settings settings) {
    return Behaviors.withTimers(
        timers ->
            Behaviors.setup(
                ctx -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tick());
                  return new QueryRegistry(ctx, timers, nodes, locations, settings);
                }));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final Nodes nodes;
  private final ShardLocations locations;
  private final Settings settings;
  /** Node entity id → the member address last written as its shard location. */
  private final Map<String, String> placed = new HashMap<>();
  /** Queries whose locations are written, so their nodes may be started. */
  private final Set<String> ready = new HashSet<>();
  private final Map<String, ActorRef<DeployReply>> waiting = new HashMap<>();
  private boolean writing;
  /** Placed-at addresses no longer in the membership, and since when (nanos). */
  private final Map<String, Long> removedSince = new HashMap<>();
  /** Compiled nodes by deployment id: a deployed graph is compiled once, not on every tick. */
  private final Map<String, List<NodeSpec>> compiled = new HashMap<>();
  private final MoveProcess.Settings moveSettings;
  /** Each running migration's process; not persisted (recovered from the moves on restart). */
  private final Map<MigrationId, Flight> flights = new HashMap<>();

  /** A running migration: its process and whom to answer when it ends (none after a restart). */
  private record Flight(MoveProcess process, ActorRef<MigrateReply> replyTo) {}

  /** Moves whose nodes are taking their pre-copy snapshot, by pre-copy id: not started, nothing persisted. */
  private final Map<String, PreCopying> preCopies = new HashMap<>();

  private record PreCopying(Migrate migrate, Set<NodeId> waitingFor) {}

  /** {@code ferry.migration.pre-copy}: snapshot the nodes while they run, before a move's stop. */
  private final boolean preCopy;
  private final java.time.Duration preCopyTimeout;

  private QueryRegistry(ActorContext<Command> ctx, TimerScheduler<Command> timers, Nodes nodes, ShardLocations locations, Settings settings) {
    super(PersistenceId.ofUniqueId("ferry-query-registry"));
    this.ctx = ctx;
    this.timers = timers;
    this.nodes = nodes;
    this.locations = locations;
    this.settings = settings;
    this.moveSettings = new MoveProcess.Settings(settings.stepTimeout(), settings.resumeRetry(), settings.holdBeforeRestore());
    com.typesafe.config.Config config = ctx.getSystem().settings().config();
    this.preCopy = config.getBoolean("ferry.migration.pre-copy");
    this.preCopyTimeout = config.getDuration("ferry.migration.pre-copy-timeout");
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), Map.of());
  }

  @Override
  public EventHandler<State, CborSerializable> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::with);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              // A migration the previous manager left running: its process rolls it forward if its
              // nodes were already placed at the target, back otherwise.
              for (Move m : state.moves().values()) {
                if (m.active()) {
                  ctx.getLog().warn("migration={} was running when the manager stopped (phase {}): {}", m.id(), m.stage(),
                      m.stage() == MoveProcess.Stage.PLACED ? "rolling forward" : "rolling back");
                  MoveProcess.Begun begun = MoveProcess.recover(m, moveSettings, now());
                  Flight f = new Flight(begun.process(), null);
                  flights.put(m.id(), f);
                  execute(state, f, begun.decision().effects());
                }
              }
            })
        .build();
  }

  @Override
  public CommandHandler<Command, CborSerializable, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Deploy.class, this::onDeploy)
        .onCommand(Undeploy.class, this::onUndeploy)
        .onCommand(GetQueries.class, this::onGetQueries)
        .onCommand(Tick.class, this::onTick)
        .onCommand(LocationsWritten.class, this::onLocationsWritten)
        .onCommand(Migrate.class, this::onMigrate)
        .onCommand(GetMigrations.class, this::onGetMigrations)
        .onCommand(MoveReplied.class, this::onMoveReplied)
        .onCommand(MoveTimer.class, this::onMoveTimer)
        .onCommand(PreCopyReplied.class, this::onPreCopyReplied)
        .build();
  }

  // ---- deploy and undeploy

  private Effect<CborSerializable, State> onDeploy(State state, Deploy deploy) {
    String problem = check(state, deploy);
    if (problem != null) {
      ctx.getLog().warn("deploy of {} rejected: {}", deploy.graph().id(), problem);
      deploy.replyTo().tell(new Rejected(problem));
      return Effect().none();
    }
    QueryDeployed event =
        new QueryDeployed(deploy.graph(), Map.copyOf(deploy.placement()), UUID.randomUUID().toString(), deploy.engine());
    String q = deploy.graph().id().value();
    return Effect()
        .persist(event)
        .thenRun(
            s -> {
              ctx.getLog().info("query={} deployment={} deployed on {}", q, event.deploymentId(), new TreeMap<>(event.placement()));
              waiting.put(q, deploy.replyTo());
              place(s);
            });
  }

  /** Why a deployment cannot run, or null. */
  private String check(State state, Deploy deploy) {
    QueryGraph graph = deploy.graph();
    if (state.queries().containsKey(graph.id().value())) {
      return "query " + graph.id() + " is already deployed; undeploy it first";
    }
    List<NodeSpec> specs;
    try {
      specs = graph.compile();
    } catch (QueryException e) {
      return e.getMessage();
    }
    Set<String> ids = new TreeSet<>();
    specs.forEach(s -> ids.add(s.id().value()));
    for (String n : deploy.placement().keySet()) {
      if (!ids.contains(n)) {
        return "the placement names node '" + n + "', which query " + graph.id() + " does not have; its nodes are " + ids;
      }
    }
    MembershipView view = membership();
    for (NodeSpec spec : specs) {
      String n = spec.id().value();
      String site = deploy.placement().get(n);
      if (site == null) {
        return "node '" + n + "' of query " + graph.id() + " has no site in the placement";
      }
      Optional<Site> live = view.liveWorkersBySite().keySet().stream().filter(x -> x.name().equals(site)).findFirst();
      if (live.isEmpty()) {
        return "node '" + n + "' is placed on site '" + site + "', but no live member runs at that site; sites with members: "
            + view.liveWorkersBySite().keySet();
      }
      String pii = PiiRule.violation(spec, site, Optional.ofNullable(view.siteTiers().get(live.get())).map(Tier::label).orElse(null))
          .orElse(null);
      if (pii != null) {
        return "query " + graph.id() + ": " + pii;
      }
    }
    return null;
  }

  private Effect<CborSerializable, State> onUndeploy(State state, Undeploy undeploy) {
    Entry e = state.queries().get(undeploy.query().value());
    if (e == null) {
      undeploy.replyTo().tell(new Rejected("query " + undeploy.query() + " is not deployed"));
      return Effect().none();
    }
    if (state.moves().values().stream().anyMatch(m -> m.active() && m.query().equals(undeploy.query()))) {
      undeploy.replyTo().tell(new Rejected("query " + undeploy.query() + " has a migration running; undeploy it when that has ended"));
      return Effect().none();
    }
    QueryDeployed d = e.deployed();
    return Effect()
        .persist(new QueryUndeployed(undeploy.query()))
        .thenRun(
            s -> {
              ready.remove(undeploy.query().value());
              for (NodeSpec spec : specs(d)) {
                nodes.apply(spec.query(), spec.id()).tell(new LogicNode.Retire(d.deploymentId()));
                placed.remove(LogicNode.entityId(spec.query(), spec.id()));
              }
              compiled.remove(d.deploymentId());
              ctx.getLog().info("query={} undeployed", undeploy.query());
              undeploy.replyTo().tell(new Undeployed(undeploy.query()));
            });
  }

  private Effect<CborSerializable, State> onGetQueries(State state, GetQueries get) {
    List<QueryInfo> out = new ArrayList<>();
    for (Entry e : state.queries().values()) {
      QueryDeployed d = e.deployed();
      List<NodeSpec> specs = specs(d);
      Map<String, String> members = new TreeMap<>();
      for (NodeSpec s : specs) {
        String addr = placed.get(LogicNode.entityId(s.query(), s.id()));
        if (addr != null) {
          members.put(s.id().value(), addr);
        }
      }
      out.add(new QueryInfo(d.graph().id(), d.deploymentId(), specs, new TreeMap<>(e.placement()), members, d.engine()));
    }
    get.replyTo().tell(new Queries(out));
    return Effect().none();
  }

  private Effect<CborSerializable, State> onTick(State state, Tick tick) {
    place(state);
    for (Entry e : state.queries().values()) {
      if (ready.contains(e.deployed().graph().id().value())) {
        start(e.deployed());
      }
    }
    return Effect().none();
  }

  /** Writes the locations that changed: new nodes, moved nodes, and nodes whose member is gone. */
  private void place(State state) {
    if (writing || state.queries().isEmpty()) {
      return;
    }
    Map<String, String> siteOf = new HashMap<>();
    for (Entry e : state.queries().values()) {
      for (NodeSpec s : specs(e.deployed())) {
        siteOf.put(LogicNode.entityId(s.query(), s.id()), e.placement().get(s.id().value()));
      }
    }
    MembershipView view = membership();
    Map<String, String> chosen = Assigner.assign(siteOf, view.liveWorkersBySiteName(), placed, crashedMembers(view));
    Map<String, String> changed = new LinkedHashMap<>();
    chosen.forEach(
        (node, addr) -> {
          if (!addr.equals(placed.get(node))) {
            changed.put(node, addr);
          }
        });
    if (changed.isEmpty()) {
      markReady(state);
      return;
    }
    writing = true;
    ctx.pipeToSelf(
        locations.set(changed),
        (done, failure) -> new LocationsWritten(changed, failure == null ? null : failure.getMessage()));
  }

  private Effect<CborSerializable, State> onLocationsWritten(State state, LocationsWritten written) {
    writing = false;
    if (written.failure() != null) {
      ctx.getLog().warn("writing shard locations failed, retrying on the next tick: {}", written.failure());
      return Effect().none();
    }
    written.locations().forEach(
        (node, addr) -> {
          String before = placed.put(node, addr);
          if (before != null) {
            ctx.getLog().info("node={} placed at {} (was {})", node, addr, before);
          }
        });
    markReady(state);
    // A location may have changed while this write was in flight (a move): write again now.
    place(state);
    resumeNowWherePlaced();
    return Effect().none();
  }

  /**
   * A move restoring its nodes asks them to resume as soon as their new locations are written,
   * not at its next retry timer: the ask reaches the node's old incarnation, which hands it on to
   * the new one when its shard is handed off (see {@code LogicNode.HandOff}), so the pause does
   * not wait for a timer. Fed to the process as its timer firing, which asks and keeps the deadline.
   */
  private void resumeNowWherePlaced() {
    flights.forEach(
        (id, f) -> {
          MoveProcess.Phase phase = f.process.phase();
          if (phase instanceof MoveProcess.Restoring || phase instanceof MoveProcess.RollingBack) {
            ctx.getSelf().tell(new MoveTimer(id));
          }
        });
  }

  /** Marks queries whose nodes all have a location ready, and answers whoever deployed them. */
  private void markReady(State state) {
    for (Entry e : state.queries().values()) {
      QueryDeployed d = e.deployed();
      String q = d.graph().id().value();
      if (ready.contains(q)) {
        continue;
      }
      Map<String, String> members = members(d);
      if (members.size() != specs(d).size()) { // compiled nodes: a keyed node runs as its instances
        continue;
      }
      // The first Start goes out on the next tick: by then the coordinator's allocation strategy
      // has been notified of the new locations, so the nodes start where they are placed.
      ready.add(q);
      ActorRef<DeployReply> replyTo = waiting.remove(q);
      if (replyTo != null) {
        replyTo.tell(new Deployed(d.graph().id(), d.deploymentId(), members));
      }
    }
  }

  private Map<String, String> members(QueryDeployed d) {
    Map<String, String> members = new TreeMap<>();
    for (NodeSpec s : specs(d)) {
      String addr = placed.get(LogicNode.entityId(s.query(), s.id()));
      if (addr != null) {
        members.put(s.id().value(), addr);
      }
    }
    return members;
  }

  private List<NodeSpec> specs(QueryDeployed d) {
    return compiled.computeIfAbsent(d.deploymentId(), id -> d.graph().compile());
  }

  private void start(QueryDeployed d) {
    for (NodeSpec spec : specs(d)) {
      nodes.apply(spec.query(), spec.id()).tell(new LogicNode.Start(spec, d.deploymentId()));
    }
  }

  // ---- migrations: a shell over MoveProcess, which decides; this persists and carries out

  private Effect<CborSerializable, State> onMigrate(State state, Migrate migrate) {
    if (!preCopy) {
      return begin(state, migrate);
    }
    MigrationInstruction in = migrate.instruction();
    String problem = checkMove(state, in, membership());
    if (problem != null) {
      return begin(state, migrate); // refuses it, with the reason
    }
    // Pre-copy: every node snapshots now, while it runs; the move (and the pause) starts when they
    // have answered, and its stop then writes only an event. A node that cannot pre-copy, or does
    // not answer within the pre-copy timeout, is simply moved with a snapshot at its stop.
    String id = "pre-copy-" + java.util.UUID.randomUUID();
    preCopies.put(id, new PreCopying(migrate, new HashSet<>(in.nodes())));
    for (NodeId n : in.nodes()) {
      ctx.ask(
          LogicNode.MoveReply.class,
          nodes.apply(in.query(), n),
          preCopyTimeout,
          r -> new LogicNode.PreCopy(id, r),
          (reply, failure) -> new PreCopyReplied(id, n));
    }
    return Effect().none();
  }

  private Effect<CborSerializable, State> onPreCopyReplied(State state, PreCopyReplied r) {
    PreCopying p = preCopies.get(r.preCopyId());
    if (p == null) {
      return Effect().none();
    }
    p.waitingFor().remove(r.node());
    if (!p.waitingFor().isEmpty()) {
      return Effect().none();
    }
    preCopies.remove(r.preCopyId());
    return begin(state, p.migrate()); // checked again: another move may have taken a node meanwhile
  }

  /** Starts a move now (its stop first), or refuses it. */
  private Effect<CborSerializable, State> begin(State state, Migrate migrate) {
    MigrationInstruction in = migrate.instruction();
    MembershipView view = membership();
    String problem = checkMove(state, in, view);
    if (problem != null) {
      ctx.getLog().warn("migration of {}/{} to {} refused: {}", in.query(), in.nodes(), in.toSite(), problem);
      migrate.replyTo().tell(new Rejected(problem));
      return Effect().none();
    }
    MigrationId id = MigrationId.random();
    Map<NodeId, Site> from = new TreeMap<>(Comparator.comparing(NodeId::value));
    for (NodeId n : in.nodes()) {
      from.put(n, Site.of(state.placementOf(in.query().value()).get(n.value())));
    }
    MoveProcess.Begun begun =
        MoveProcess.start(id, in.query(), downstreamFirst(state, in), from, in.toSite(), moveSettings, now());
    Flight f = new Flight(begun.process(), migrate.replyTo());
    MoveProcess.MigrationStarted started = (MoveProcess.MigrationStarted) begun.decision().events().get(0);
    return Effect()
        .persist(new ArrayList<CborSerializable>(begun.decision().events()))
        .thenRun(
            s -> {
              ctx.getLog().info("migration={} query={} nodes={} from={} to={} started", id, in.query(), started.nodes(), started.from(),
                  in.toSite());
              flights.put(id, f);
              execute(s, f, begun.decision().effects());
            });
  }

  /** Why a move cannot run, or null. */
  private String checkMove(State state, MigrationInstruction in, MembershipView view) {
    Entry e = state.queries().get(in.query().value());
    if (e == null) {
      return "unknown query '" + in.query() + "'; deployed queries are " + state.queries().keySet();
    }
    if (in.nodes().isEmpty()) {
      return "a migration needs at least one node";
    }
    Map<String, NodeSpec> specs = new HashMap<>();
    specs(e.deployed()).forEach(s -> specs.put(s.id().value(), s));
    Map<Site, List<String>> sites = view.liveWorkersBySite();
    Site to = in.toSite();
    if (!sites.containsKey(to)) {
      Set<String> known = new TreeSet<>(e.placement().values());
      sites.keySet().forEach(s -> known.add(s.name()));
      return (known.contains(to.name()) ? "site '" + to + "' has no live member" : "unknown site '" + to + "'")
          + "; sites with live members: " + sites.keySet();
    }
    String tier = Optional.ofNullable(view.siteTiers().get(to)).map(Tier::label).orElse(null);
    for (NodeId node : in.nodes()) {
      String n = node.value();
      NodeSpec spec = specs.get(n);
      if (spec == null) {
        return "query " + in.query() + " has no node '" + n + "'; its nodes are " + new TreeSet<>(specs.keySet());
      }
      if (to.name().equals(e.placement().get(n))) {
        return "node '" + n + "' already runs at site '" + to + "'";
      }
      for (Move m : state.moves().values()) {
        if (m.active() && m.query().equals(in.query()) && m.nodes().contains(node)) {
          return "node '" + n + "' is already being moved by migration " + m.id();
        }
      }
      String pii = PiiRule.violation(spec, to.name(), tier).orElse(null);
      if (pii != null) {
        return pii;
      }
    }
    return null;
  }

  /** The nodes of an instruction, downstream nodes first (the order they are paused in). */
  private List<NodeId> downstreamFirst(State state, MigrationInstruction in) {
    List<NodeId> order = new ArrayList<>();
    List<NodeSpec> topo = specs(state.queries().get(in.query().value()).deployed());
    for (int i = topo.size() - 1; i >= 0; i--) {
      NodeId n = topo.get(i).id();
      if (in.nodes().contains(n)) {
        order.add(n);
      }
    }
    return order;
  }

  private Effect<CborSerializable, State> onMoveReplied(State state, MoveReplied r) {
    Flight f = flights.get(r.migrationId());
    if (f == null) {
      return Effect().none();
    }
    MoveProcess.Input input;
    if (r.failure() != null) {
      input = new MoveProcess.AskLost(r.node(), r.failure());
    } else if (r.reply() instanceof LogicNode.PausedAt p) {
      input = new MoveProcess.PausedAt(r.node(), p.seqNr());
    } else if (r.reply() instanceof LogicNode.ResumedAt) {
      input = new MoveProcess.ResumedAt(r.node());
    } else if (r.reply() instanceof LogicNode.PausedByOther o && ended(state, new MigrationId(o.pausedBy()))) {
      input = new MoveProcess.HeldByEnded(r.node(), new MigrationId(o.pausedBy()));
    } else if (r.reply() instanceof LogicNode.PausedByOther o) {
      input = new MoveProcess.Refused(r.node(), "already paused by migration " + o.pausedBy());
    } else if (r.reply() instanceof LogicNode.NotResumed nr && nr.reason().equals(LogicNode.NOT_RUNNING)) {
      input = new MoveProcess.NotRunning(r.node());
    } else {
      input = new MoveProcess.Refused(r.node(), String.valueOf(r.reply()));
    }
    return decide(state, f, f.process.on(input, now()));
  }

  /** Deadlines on the monotonic clock (a wall clock may jump); wall-clock millis only stamp the events. */
  private static MoveProcess.Now now() {
    return new MoveProcess.Now(System.nanoTime() / 1_000_000, System.currentTimeMillis());
  }

  /** True if {@code id} has ended; one no longer recorded has too (only ended moves are dropped). */
  private static boolean ended(State state, MigrationId id) {
    Move m = state.moves().get(id);
    return m == null || !m.active();
  }

  private Effect<CborSerializable, State> onMoveTimer(State state, MoveTimer t) {
    Flight f = flights.get(t.migrationId());
    if (f == null) {
      return Effect().none();
    }
    return decide(state, f, f.process.on(new MoveProcess.TimerFired(), now()));
  }

  /** Persists the decision's events (in one write), then carries out its effects. */
  private Effect<CborSerializable, State> decide(State state, Flight f, MoveProcess.Decision d) {
    if (d.events().isEmpty()) {
      execute(state, f, d.effects());
      return Effect().none();
    }
    for (MoveProcess.Event e : d.events()) {
      if (e instanceof MoveProcess.NodesPlaced n && n.rollback()) {
        ctx.getLog().warn("migration={} rolling back: {}", n.id(), n.reason());
      }
    }
    return Effect().persist(new ArrayList<CborSerializable>(d.events())).thenRun(s -> execute(s, f, d.effects()));
  }

  private void execute(State state, Flight f, List<MoveProcess.Effect> effects) {
    Move m = f.process.move();
    for (MoveProcess.Effect effect : effects) {
      if (effect instanceof MoveProcess.AskPause a) {
        askPause(m, a.node());
      } else if (effect instanceof MoveProcess.WriteLocations) {
        place(state);
      } else if (effect instanceof MoveProcess.AskResume a) {
        askResume(m, a);
      } else if (effect instanceof MoveProcess.ClearPause c) {
        clearPause(m, c);
      } else if (effect instanceof MoveProcess.StartTimer t) {
        timers.startSingleTimer(timerKey(m.id()), new MoveTimer(m.id()), t.delay());
      } else if (effect instanceof MoveProcess.Finish fin) {
        timers.cancel(timerKey(m.id()));
        flights.remove(m.id());
        MigrationReport report = report(state, state.moves().get(m.id()));
        ctx.getLog().info("migration={} {} in {} ms: {}", m.id(), fin.outcome(), report.pauseMillis(), report.steps());
        // Here, not where a caller gets the reply: a move a restarted manager finished, or whose
        // caller gave up waiting, counts too, and each ends (Finish) once.
        MemberMetrics.get(ctx.getSystem()).migrationEnded(report);
        if (f.replyTo != null) {
          f.replyTo.tell(new MigrationEnded(report));
        }
      }
    }
  }

  private static String timerKey(MigrationId id) {
    return "move-" + id;
  }

  /** Asks a node to pause; a node that is not running yet is asked again at the next timer. */
  private void askPause(Move m, NodeId n) {
    ctx.ask(
        LogicNode.MoveReply.class,
        nodes.apply(m.query(), n),
        settings.stepTimeout(),
        r -> new LogicNode.Pause(m.id().value(), r),
        (reply, failure) -> new MoveReplied(m.id(), n, reply, failure == null ? null : "no reply from " + n + ": " + failure.getMessage()));
  }

  private void askResume(Move m, MoveProcess.AskResume a) {
    String addr = placed.get(LogicNode.entityId(m.query(), a.node()));
    if (addr == null || !a.site().equals(membership().siteOfAddress().get(addr))) {
      return; // its location at the new site is not written yet: the timer asks again
    }
    ctx.ask(
        LogicNode.MoveReply.class,
        nodes.apply(m.query(), a.node()),
        settings.stepTimeout(),
        r -> new LogicNode.Resume(m.id().value(), addr, a.checkpointSeqNr(), r),
        (reply, failure) -> new MoveReplied(m.id(), a.node(), reply, failure == null ? null : failure.getMessage()));
  }

  /** Resumes a node where it runs now for an ended migration whose late pause holds it; the answer is not needed. */
  private void clearPause(Move m, MoveProcess.ClearPause c) {
    String addr = placed.get(LogicNode.entityId(m.query(), c.node()));
    if (addr == null) {
      return; // not placed: the next pause answer asks again
    }
    ctx.getLog().warn("migration={} node={} is held by ended migration={}: resuming it for that one", m.id(), c.node(), c.ended());
    nodes.apply(m.query(), c.node()).tell(new LogicNode.Resume(c.ended().value(), addr, 0, ctx.getSystem().ignoreRef()));
  }

  private Effect<CborSerializable, State> onGetMigrations(State state, GetMigrations get) {
    List<MigrationReport> out = new ArrayList<>();
    state.moves().values().forEach(m -> out.add(report(state, m)));
    get.replyTo().tell(new Migrations(out));
    return Effect().none();
  }

  private static MigrationReport report(State state, Move m) {
    Map<NodeId, Site> sites = new HashMap<>();
    state.placementOf(m.query().value()).forEach((n, site) -> sites.put(new NodeId(n), Site.of(site)));
    return m.report(sites);
  }

  // ---- membership

  private MembershipView membership() {
    return MembershipView.of(Cluster.get(ctx.getSystem()).state());
  }

  /**
   * Members that are unreachable but not down, and members removed less than the removal grace
   * ago. A member marked down is no longer among them: it will not come back, and the allocation
   * strategy leaves its shards alone until the coordinator releases them, so its nodes are placed
   * elsewhere at once and start there as soon as the coordinator lets them.
   */
  private Set<String> crashedMembers(MembershipView view) {
    Set<String> crashed = new HashSet<>(view.failed());
    for (org.apache.pekko.cluster.Member m : Cluster.get(ctx.getSystem()).state().getMembers()) {
      if (m.status() == org.apache.pekko.cluster.MemberStatus.down()) {
        crashed.remove(m.address().toString());
      }
    }
    long now = System.nanoTime();
    for (String addr : new HashSet<>(placed.values())) {
      if (!view.members().contains(addr)) {
        long since = removedSince.computeIfAbsent(addr, a -> now);
        if (now - since < settings.removalGrace().toNanos()) {
          crashed.add(addr);
        }
      }
    }
    removedSince.keySet().retainAll(placed.values());
    return crashed;
  }
}
