package io.ferry.runtime.internal;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.PiiRule;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.node.LogicNode;
import io.ferry.runtime.MemberSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import org.apache.pekko.cluster.Member;
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
 * The placement manager: a persistent cluster singleton that records deployed queries, where
 * each node runs, and the migrations that move them. It checks a deployment against the live
 * members, writes each node's shard location and keeps nodes started; it re-places nodes whose
 * member died on another member of the same site; and it runs migrations step by step (stop,
 * relocate, restore, resume), each step a persisted event, so a manager that crashes mid-move
 * rolls the move forward or back when it restarts.
 */
public final class QueryRegistry
    extends EventSourcedBehavior<QueryRegistry.Command, QueryRegistry.Event, QueryRegistry.State> {

  private static final int FINISHED_MIGRATIONS_MAX = 200;

  public sealed interface Command extends CborSerializable {}

  /** Deploys {@code graph} with {@code placement} (node id → site name). */
  public record Deploy(QueryGraph graph, Map<String, String> placement, ActorRef<DeployReply> replyTo) implements Command {}

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
  public record QueryInfo(QueryId query, String deploymentId, List<NodeSpec> nodes, Map<String, String> sites, Map<String, String> members)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record LocationsWritten(Map<String, String> locations, String failure) implements Command {}

  private record MoveReplied(String migrationId, LogicNode.MoveReply reply, String failure) implements Command {}

  private record MoveTimer(String migrationId) implements Command {}

  // ---- events and state

  public sealed interface Event extends CborSerializable {}

  public record QueryDeployed(QueryGraph graph, Map<String, String> placement, String deploymentId) implements Event {}

  public record QueryUndeployed(QueryId query) implements Event {}

  public record MigrationStarted(String id, String query, List<String> nodes, Map<String, String> from, String to, long atMillis)
      implements Event {}

  /** Every node of the migration is paused; its checkpoints by node. */
  public record MigrationPaused(String id, Map<String, Long> checkpoints, long atMillis) implements Event {}

  /** The nodes' sites changed (forward to the target, or back to the source on rollback). */
  public record NodesPlaced(String id, Map<String, String> sites, boolean rollback, String reason, long atMillis) implements Event {}

  public record MigrationFinished(String id, String outcome, long atMillis) implements Event {}

  /** A deployed query and where its nodes are placed now (moves change it). */
  public record Entry(QueryDeployed deployed, Map<String, String> placement) implements CborSerializable {}

  /** A migration as recorded. {@code phase}: started, paused, placed, rolling-back, ended. */
  public record Move(
      String id, String query, List<String> nodes, Map<String, String> from, String to, String phase,
      Map<String, Long> checkpoints, String outcome, String reason, List<MigrationReport.Step> steps,
      long startedAtMillis, long endedAtMillis)
      implements CborSerializable {

    Move with(String phase, String outcome, String reason, MigrationReport.Step step, Map<String, Long> checkpoints, long endedAt) {
      List<MigrationReport.Step> s = new ArrayList<>(steps);
      if (step != null) {
        s.add(step);
      }
      return new Move(id, query, nodes, from, to, phase, checkpoints, outcome, reason, s, startedAtMillis, endedAt);
    }

    boolean active() {
      return MigrationReport.RUNNING.equals(outcome);
    }

    long lastStepAt() {
      return steps.isEmpty() ? startedAtMillis : steps.get(steps.size() - 1).atMillis();
    }
  }

  public record State(Map<String, Entry> queries, Map<String, Move> moves) implements CborSerializable {
    Map<String, String> placementOf(String query) {
      Entry e = queries.get(query);
      return e == null ? Map.of() : e.placement();
    }

    State with(Event ev) {
      Map<String, Entry> q = new TreeMap<>(queries);
      Map<String, Move> m = new LinkedHashMap<>(moves);
      if (ev instanceof QueryDeployed d) {
        q.put(d.graph().id().value(), new Entry(d, Map.copyOf(d.placement())));
      } else if (ev instanceof QueryUndeployed u) {
        q.remove(u.query().value());
      } else if (ev instanceof MigrationStarted s) {
        m.put(s.id(), new Move(s.id(), s.query(), s.nodes(), s.from(), s.to(), "started", Map.of(), MigrationReport.RUNNING, "",
            List.of(), s.atMillis(), 0));
        while (m.size() > FINISHED_MIGRATIONS_MAX && m.values().stream().anyMatch(x -> !x.active())) {
          m.values().stream().filter(x -> !x.active()).findFirst().ifPresent(x -> m.remove(x.id()));
        }
      } else if (ev instanceof MigrationPaused p) {
        Move mv = m.get(p.id());
        m.put(p.id(), mv.with("paused", mv.outcome(), mv.reason(),
            new MigrationReport.Step("stop", p.atMillis(), p.atMillis() - mv.lastStepAt(), "checkpoints " + p.checkpoints()),
            p.checkpoints(), 0));
      } else if (ev instanceof NodesPlaced n) {
        Move mv = m.get(n.id());
        Entry e = q.get(mv.query());
        if (e != null) {
          Map<String, String> placement = new TreeMap<>(e.placement());
          placement.putAll(n.sites());
          q.put(mv.query(), new Entry(e.deployed(), placement));
        }
        m.put(n.id(), mv.with(n.rollback() ? "rolling-back" : "placed", mv.outcome(), n.reason(),
            new MigrationReport.Step(n.rollback() ? "rollback" : "relocate", n.atMillis(), n.atMillis() - mv.lastStepAt(),
                (n.rollback() ? "back to " : "to ") + n.sites() + (n.reason().isEmpty() ? "" : ": " + n.reason())),
            mv.checkpoints(), 0));
      } else if (ev instanceof MigrationFinished f) {
        Move mv = m.get(f.id());
        m.put(f.id(), mv.with("ended", f.outcome(), mv.reason(),
            new MigrationReport.Step("restore", f.atMillis(), f.atMillis() - mv.lastStepAt(), "resumed"),
            mv.checkpoints(), f.atMillis()));
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
  /** What each running migration still waits for; not persisted (rebuilt from the moves on restart). */
  private final Map<String, Flight> flights = new HashMap<>();

  /** The volatile side of a running migration. */
  private static final class Flight {
    final Set<String> waitingFor = new HashSet<>();
    final Map<String, Long> checkpoints = new HashMap<>();
    ActorRef<MigrateReply> replyTo;
    long deadlineNanos;
    String failure;
  }

  private QueryRegistry(ActorContext<Command> ctx, TimerScheduler<Command> timers, Nodes nodes, ShardLocations locations, Settings settings) {
    super(PersistenceId.ofUniqueId("ferry-query-registry"));
    this.ctx = ctx;
    this.timers = timers;
    this.nodes = nodes;
    this.locations = locations;
    this.settings = settings;
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), Map.of());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::with);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              // A migration the previous manager left running: forward if its nodes were already
              // placed at the target, back otherwise. Either way its nodes end up resumed.
              for (Move m : state.moves().values()) {
                if (m.active()) {
                  ctx.getLog().warn("migration={} was running when the manager stopped (phase {}): {}", m.id(), m.phase(),
                      m.phase().equals("placed") ? "rolling forward" : "rolling back");
                  Flight f = new Flight();
                  f.waitingFor.addAll(m.nodes());
                  f.deadlineNanos = System.nanoTime() + settings.stepTimeout().toNanos();
                  flights.put(m.id(), f);
                  if (m.phase().equals("started") || m.phase().equals("paused")) {
                    f.failure = "the placement manager restarted before the nodes were relocated";
                  }
                  ctx.getSelf().tell(new MoveTimer(m.id()));
                }
              }
            })
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
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
        .build();
  }

  // ---- deploy and undeploy

  private Effect<Event, State> onDeploy(State state, Deploy deploy) {
    String problem = check(state, deploy);
    if (problem != null) {
      ctx.getLog().warn("deploy of {} rejected: {}", deploy.graph().id(), problem);
      deploy.replyTo().tell(new Rejected(problem));
      return Effect().none();
    }
    QueryDeployed event =
        new QueryDeployed(deploy.graph(), Map.copyOf(deploy.placement()), UUID.randomUUID().toString());
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
    Map<String, List<String>> sites = liveMembersBySite();
    Map<String, String> tiers = siteTiers();
    for (NodeSpec spec : specs) {
      String n = spec.id().value();
      String site = deploy.placement().get(n);
      if (site == null) {
        return "node '" + n + "' of query " + graph.id() + " has no site in the placement";
      }
      if (!sites.containsKey(site)) {
        return "node '" + n + "' is placed on site '" + site + "', but no live member runs at that site; sites with members: "
            + new TreeSet<>(sites.keySet());
      }
      String pii = PiiRule.violation(spec, site, tiers.get(site)).orElse(null);
      if (pii != null) {
        return "query " + graph.id() + ": " + pii;
      }
    }
    return null;
  }

  private Effect<Event, State> onUndeploy(State state, Undeploy undeploy) {
    Entry e = state.queries().get(undeploy.query().value());
    if (e == null) {
      undeploy.replyTo().tell(new Rejected("query " + undeploy.query() + " is not deployed"));
      return Effect().none();
    }
    if (state.moves().values().stream().anyMatch(m -> m.active() && m.query().equals(undeploy.query().value()))) {
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

  private Effect<Event, State> onGetQueries(State state, GetQueries get) {
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
      out.add(new QueryInfo(d.graph().id(), d.deploymentId(), specs, new TreeMap<>(e.placement()), members));
    }
    get.replyTo().tell(new Queries(out));
    return Effect().none();
  }

  private Effect<Event, State> onTick(State state, Tick tick) {
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
    Map<String, String> chosen = Assigner.assign(siteOf, liveMembersBySite(), placed, crashedMembers());
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

  private Effect<Event, State> onLocationsWritten(State state, LocationsWritten written) {
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
    return Effect().none();
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
      if (members.size() != d.graph().nodes().size()) {
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

  // ---- migrations

  private Effect<Event, State> onMigrate(State state, Migrate migrate) {
    MigrationInstruction in = migrate.instruction();
    String problem = checkMove(state, in);
    if (problem != null) {
      ctx.getLog().warn("migration of {}/{} to {} refused: {}", in.query(), in.nodes(), in.toSite(), problem);
      migrate.replyTo().tell(new Rejected(problem));
      return Effect().none();
    }
    String id = "m-" + UUID.randomUUID().toString().substring(0, 8);
    Map<String, String> from = new TreeMap<>();
    for (String n : in.nodes()) {
      from.put(n, state.placementOf(in.query()).get(n));
    }
    MigrationStarted started = new MigrationStarted(id, in.query(), downstreamFirst(state, in), from, in.toSite(), System.currentTimeMillis());
    return Effect()
        .persist(started)
        .thenRun(
            s -> {
              ctx.getLog().info("migration={} query={} nodes={} from={} to={} started", id, in.query(), started.nodes(), from, in.toSite());
              Flight f = new Flight();
              f.replyTo = migrate.replyTo();
              flights.put(id, f);
              pauseAll(s.moves().get(id), f);
            });
  }

  /** Why a move cannot run, or null. */
  private String checkMove(State state, MigrationInstruction in) {
    Entry e = state.queries().get(in.query());
    if (e == null) {
      return "unknown query '" + in.query() + "'; deployed queries are " + state.queries().keySet();
    }
    if (in.nodes().isEmpty()) {
      return "a migration needs at least one node";
    }
    Map<String, NodeSpec> specs = new HashMap<>();
    specs(e.deployed()).forEach(s -> specs.put(s.id().value(), s));
    Map<String, List<String>> sites = liveMembersBySite();
    if (!sites.containsKey(in.toSite())) {
      Set<String> known = new TreeSet<>(e.placement().values());
      known.addAll(sites.keySet());
      return (known.contains(in.toSite()) ? "site '" + in.toSite() + "' has no live member" : "unknown site '" + in.toSite() + "'")
          + "; sites with live members: " + new TreeSet<>(sites.keySet());
    }
    String tier = siteTiers().get(in.toSite());
    for (String n : in.nodes()) {
      NodeSpec spec = specs.get(n);
      if (spec == null) {
        return "query " + in.query() + " has no node '" + n + "'; its nodes are " + new TreeSet<>(specs.keySet());
      }
      if (in.toSite().equals(e.placement().get(n))) {
        return "node '" + n + "' already runs at site '" + in.toSite() + "'";
      }
      for (Move m : state.moves().values()) {
        if (m.active() && m.query().equals(in.query()) && m.nodes().contains(n)) {
          return "node '" + n + "' is already being moved by migration " + m.id();
        }
      }
      String pii = PiiRule.violation(spec, in.toSite(), tier).orElse(null);
      if (pii != null) {
        return pii;
      }
    }
    return null;
  }

  /** The nodes of an instruction, downstream nodes first (the order they are paused in). */
  private List<String> downstreamFirst(State state, MigrationInstruction in) {
    List<String> order = new ArrayList<>();
    List<NodeSpec> topo = specs(state.queries().get(in.query()).deployed());
    for (int i = topo.size() - 1; i >= 0; i--) {
      String n = topo.get(i).id().value();
      if (in.nodes().contains(n)) {
        order.add(n);
      }
    }
    return order;
  }

  private void pauseAll(Move m, Flight f) {
    f.waitingFor.clear();
    f.waitingFor.addAll(m.nodes());
    f.deadlineNanos = System.nanoTime() + settings.stepTimeout().toNanos();
    askPause(m, f);
  }

  /** Asks every node not yet paused to pause; a node that is not running yet is asked again. */
  private void askPause(Move m, Flight f) {
    for (String n : f.waitingFor) {
      ctx.ask(
          LogicNode.MoveReply.class,
          nodes.apply(new QueryId(m.query()), new NodeId(n)),
          settings.stepTimeout(),
          r -> new LogicNode.Pause(m.id(), r),
          (reply, failure) -> new MoveReplied(m.id(), reply, failure == null ? null : "no reply from " + n + ": " + failure.getMessage()));
    }
    timers.startSingleTimer("move-" + m.id(), new MoveTimer(m.id()), settings.resumeRetry().multipliedBy(5));
  }

  private Effect<Event, State> onMoveReplied(State state, MoveReplied r) {
    Move m = state.moves().get(r.migrationId());
    Flight f = flights.get(r.migrationId());
    if (m == null || f == null || !m.active()) {
      return Effect().none();
    }
    if (m.phase().equals("started")) {
      if (r.reply() instanceof LogicNode.PausedAt p) {
        String node = p.entityId().substring(p.entityId().indexOf('/') + 1);
        f.checkpoints.put(node, p.seqNr());
        f.waitingFor.remove(node);
      } else if (r.reply() instanceof LogicNode.NotResumed nr && nr.reason().equals(LogicNode.NOT_RUNNING)) {
        return Effect().none(); // just deployed or restarting: the move timer asks again
      } else if (r.failure() != null && !f.waitingFor.isEmpty()) {
        return Effect().none(); // a lost ask: asked again until the step deadline
      } else if (f.failure == null) {
        f.failure = r.failure() != null ? r.failure() : "could not stop: " + r.reply();
        f.waitingFor.clear();
      }
      if (!f.waitingFor.isEmpty()) {
        return Effect().none();
      }
      if (f.failure != null) {
        return rollBack(state, m, f);
      }
      MigrationPaused paused = new MigrationPaused(m.id(), Map.copyOf(f.checkpoints), System.currentTimeMillis());
      Map<String, String> target = new TreeMap<>();
      m.nodes().forEach(n -> target.put(n, m.to()));
      NodesPlaced relocate = new NodesPlaced(m.id(), target, false, "", System.currentTimeMillis());
      return Effect().persist(List.of(paused, relocate)).thenRun(s -> resumeAll(s, s.moves().get(m.id()), f));
    }
    if (r.reply() instanceof LogicNode.ResumedAt a) {
      f.waitingFor.remove(a.entityId().substring(a.entityId().indexOf('/') + 1));
      if (f.waitingFor.isEmpty()) {
        return finish(m, f);
      }
    }
    return Effect().none();
  }

  /** Puts the nodes back at their source sites and resumes them there. */
  private Effect<Event, State> rollBack(State state, Move m, Flight f) {
    String reason = f.failure;
    f.failure = null;
    ctx.getLog().warn("migration={} rolling back: {}", m.id(), reason);
    return Effect()
        .persist(new NodesPlaced(m.id(), m.from(), true, reason, System.currentTimeMillis()))
        .thenRun(s -> resumeAll(s, s.moves().get(m.id()), f));
  }

  /** Writes the new locations and asks every node to resume where it is placed, until all have. */
  private void resumeAll(State state, Move m, Flight f) {
    f.waitingFor.clear();
    f.waitingFor.addAll(m.nodes());
    f.deadlineNanos = System.nanoTime() + settings.stepTimeout().plus(settings.holdBeforeRestore()).toNanos();
    place(state);
    if (settings.holdBeforeRestore().isZero()) {
      askResume(state, m, f);
    } else {
      timers.startSingleTimer("move-" + m.id(), new MoveTimer(m.id()), settings.holdBeforeRestore());
    }
  }

  private void askResume(State state, Move m, Flight f) {
    for (String n : f.waitingFor) {
      String entity = LogicNode.entityId(new QueryId(m.query()), new NodeId(n));
      String addr = placed.get(entity);
      String site = state.placementOf(m.query()).get(n);
      if (addr == null || !siteOfAddress(addr).equals(site)) {
        continue; // its location at the new site is not written yet
      }
      long checkpoint = m.checkpoints().getOrDefault(n, 0L);
      ctx.ask(
          LogicNode.MoveReply.class,
          nodes.apply(new QueryId(m.query()), new NodeId(n)),
          settings.stepTimeout(),
          r -> new LogicNode.Resume(m.id(), addr, checkpoint, r),
          (reply, failure) -> new MoveReplied(m.id(), reply, failure == null ? null : failure.getMessage()));
    }
    timers.startSingleTimer("move-" + m.id(), new MoveTimer(m.id()), settings.resumeRetry());
  }

  private Effect<Event, State> onMoveTimer(State state, MoveTimer t) {
    Move m = state.moves().get(t.migrationId());
    Flight f = flights.get(t.migrationId());
    if (m == null || f == null || !m.active()) {
      return Effect().none();
    }
    switch (m.phase()) {
      case "started":
      case "paused":
        if (f.failure == null && System.nanoTime() < f.deadlineNanos) {
          askPause(m, f);
          return Effect().none();
        }
        if (f.failure == null) {
          f.failure = "nodes " + f.waitingFor + " did not stop within " + settings.stepTimeout();
        }
        return rollBack(state, m, f);
      case "placed":
        if (System.nanoTime() > f.deadlineNanos) {
          f.failure = "nodes " + f.waitingFor + " did not resume at site '" + m.to() + "' within " + settings.stepTimeout();
          return rollBack(state, m, f);
        }
        askResume(state, m, f);
        return Effect().none();
      default:
        // Rolling back never gives up: a node must not stay paused. place() re-places it if its
        // source member died meanwhile.
        if (f.waitingFor.isEmpty()) {
          f.waitingFor.addAll(m.nodes());
        }
        askResume(state, m, f);
        return Effect().none();
    }
  }

  private Effect<Event, State> finish(Move m, Flight f) {
    String outcome = m.phase().equals("placed") ? MigrationReport.COMPLETED : MigrationReport.ROLLED_BACK;
    timers.cancel("move-" + m.id());
    return Effect()
        .persist(new MigrationFinished(m.id(), outcome, System.currentTimeMillis()))
        .thenRun(
            s -> {
              flights.remove(m.id());
              MigrationReport report = report(s, s.moves().get(m.id()));
              ctx.getLog().info("migration={} {} in {} ms: {}", m.id(), outcome, report.pauseMillis(), report.steps());
              if (f.replyTo != null) {
                f.replyTo.tell(new MigrationEnded(report));
              }
            });
  }

  private Effect<Event, State> onGetMigrations(State state, GetMigrations get) {
    List<MigrationReport> out = new ArrayList<>();
    state.moves().values().forEach(m -> out.add(report(state, m)));
    get.replyTo().tell(new Migrations(out));
    return Effect().none();
  }

  private static MigrationReport report(State state, Move m) {
    Map<String, String> sites = new TreeMap<>();
    for (String n : m.nodes()) {
      sites.put(n, state.placementOf(m.query()).getOrDefault(n, "?"));
    }
    return new MigrationReport(
        m.id(), m.query(), m.nodes(), m.from(), m.to(), m.outcome(), m.reason(), m.steps(), sites, m.startedAtMillis(), m.endedAtMillis());
  }

  // ---- membership

  /** Members that failed, and members removed less than the removal grace ago. */
  private Set<String> crashedMembers() {
    var state = Cluster.get(ctx.getSystem()).state();
    Set<String> crashed = new HashSet<>();
    Set<String> members = new HashSet<>();
    state.getMembers().forEach(m -> members.add(m.address().toString()));
    long now = System.nanoTime();
    for (String addr : new HashSet<>(placed.values())) {
      if (!members.contains(addr)) {
        long since = removedSince.computeIfAbsent(addr, a -> now);
        if (now - since < settings.removalGrace().toNanos()) {
          crashed.add(addr);
        }
      }
    }
    removedSince.keySet().retainAll(placed.values());
    for (Member m : state.getUnreachable()) {
      crashed.add(m.address().toString());
    }
    for (Member m : state.getMembers()) {
      if (m.status() == MemberStatus.down()) {
        crashed.add(m.address().toString());
      }
    }
    return crashed;
  }

  /** Site name → addresses of its Up, reachable members that run logic nodes. */
  private Map<String, List<String>> liveMembersBySite() {
    Map<String, List<String>> sites = new TreeMap<>();
    var state = Cluster.get(ctx.getSystem()).state();
    for (Member m : state.getMembers()) {
      if (m.status() != MemberStatus.up() || !m.hasRole(MemberSettings.WORKER_ROLE) || state.getUnreachable().contains(m)) {
        continue;
      }
      for (String role : m.getRoles()) {
        if (role.startsWith("site-")) {
          sites.computeIfAbsent(role.substring(5), k -> new ArrayList<>()).add(m.address().toString());
        }
      }
    }
    return sites;
  }

  /** Site name → tier (edge or cloud), from the roles of the members there. */
  private Map<String, String> siteTiers() {
    Map<String, String> tiers = new TreeMap<>();
    for (Member m : Cluster.get(ctx.getSystem()).state().getMembers()) {
      String tier = m.hasRole("edge") ? "edge" : m.hasRole("cloud") ? "cloud" : null;
      for (String role : m.getRoles()) {
        if (role.startsWith("site-") && tier != null) {
          tiers.put(role.substring(5), tier);
        }
      }
    }
    return tiers;
  }

  private String siteOfAddress(String address) {
    for (Member m : Cluster.get(ctx.getSystem()).state().getMembers()) {
      if (m.address().toString().equals(address)) {
        for (String role : m.getRoles()) {
          if (role.startsWith("site-")) {
            return role.substring(5);
          }
        }
      }
    }
    return "";
  }
}
