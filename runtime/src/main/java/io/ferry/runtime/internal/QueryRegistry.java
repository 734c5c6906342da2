package io.ferry.runtime.internal;

import io.ferry.persistence.CborSerializable;
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
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * The cluster's record of deployed queries and where their nodes run: a persistent cluster
 * singleton. It checks a deployment against the live members, writes each node's shard location,
 * starts the nodes, and on every tick re-starts them and re-places nodes whose member died on
 * another live member of the same site.
 */
public final class QueryRegistry
    extends EventSourcedBehavior<QueryRegistry.Command, QueryRegistry.Event, QueryRegistry.State> {

  public sealed interface Command extends CborSerializable {}

  /** Deploys {@code graph} with {@code placement} (node id → site name). */
  public record Deploy(QueryGraph graph, Map<String, String> placement, ActorRef<DeployReply> replyTo) implements Command {}

  public record Undeploy(QueryId query, ActorRef<DeployReply> replyTo) implements Command {}

  public record GetQueries(ActorRef<Queries> replyTo) implements Command {}

  public sealed interface DeployReply extends CborSerializable {}

  /** The query runs: node id → member address. */
  public record Deployed(QueryId query, String deploymentId, Map<String, String> members) implements DeployReply {}

  public record Undeployed(QueryId query) implements DeployReply {}

  /** Nothing was started or changed, for {@code reason}. */
  public record Rejected(String reason) implements DeployReply {}

  public record Queries(List<QueryInfo> queries) implements CborSerializable {}

  /** One deployed query: node id → site, node id → member address (absent while unplaced). */
  public record QueryInfo(QueryId query, String deploymentId, List<NodeSpec> nodes, Map<String, String> sites, Map<String, String> members)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record LocationsWritten(Map<String, String> locations, String failure) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record QueryDeployed(QueryGraph graph, Map<String, String> placement, String deploymentId) implements Event {}

  public record QueryUndeployed(QueryId query) implements Event {}

  /** Deployed queries by id. */
  public record State(Map<String, QueryDeployed> queries) implements CborSerializable {
    State with(QueryDeployed d) {
      Map<String, QueryDeployed> m = new TreeMap<>(queries);
      m.put(d.graph().id().value(), d);
      return new State(m);
    }

    State without(QueryId q) {
      Map<String, QueryDeployed> m = new TreeMap<>(queries);
      m.remove(q.value());
      return new State(m);
    }
  }

  /** Finds a logic node's entity. */
  public interface Nodes extends BiFunction<QueryId, NodeId, RecipientRef<LogicNode.Command>> {}

  public static Behavior<Command> create(Nodes nodes, ShardLocations locations, Duration tick, Duration removalGrace) {
    return Behaviors.withTimers(
        timers ->
            Behaviors.setup(
                ctx -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, tick);
                  return new QueryRegistry(ctx, nodes, locations, removalGrace);
                }));
  }

  private final ActorContext<Command> ctx;
  private final Nodes nodes;
  private final ShardLocations locations;
  /** Node entity id → the member address last written as its shard location. */
  private final Map<String, String> placed = new HashMap<>();
  /** Queries whose locations are written, so their nodes may be started. */
  private final Set<String> ready = new HashSet<>();
  private final Map<String, ActorRef<DeployReply>> waiting = new HashMap<>();
  private boolean writing;
  /** Placed-at addresses no longer in the membership, and since when (nanos). */
  private final Map<String, Long> removedSince = new HashMap<>();
  private final Duration removalGrace;

  private QueryRegistry(ActorContext<Command> ctx, Nodes nodes, ShardLocations locations, Duration removalGrace) {
    super(PersistenceId.ofUniqueId("ferry-query-registry"));
    this.removalGrace = removalGrace;
    this.ctx = ctx;
    this.nodes = nodes;
    this.locations = locations;
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(QueryDeployed.class, State::with)
        .onEvent(QueryUndeployed.class, (s, e) -> s.without(e.query()))
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
        .build();
  }

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
    for (String n : ids) {
      String site = deploy.placement().get(n);
      if (site == null) {
        return "node '" + n + "' of query " + graph.id() + " has no site in the placement";
      }
      if (!sites.containsKey(site)) {
        return "node '" + n + "' is placed on site '" + site + "', but no live member runs at that site; sites with members: "
            + new TreeSet<>(sites.keySet());
      }
    }
    return null;
  }

  private Effect<Event, State> onUndeploy(State state, Undeploy undeploy) {
    QueryDeployed d = state.queries().get(undeploy.query().value());
    if (d == null) {
      undeploy.replyTo().tell(new Rejected("query " + undeploy.query() + " is not deployed"));
      return Effect().none();
    }
    return Effect()
        .persist(new QueryUndeployed(undeploy.query()))
        .thenRun(
            s -> {
              ready.remove(undeploy.query().value());
              for (NodeSpec spec : d.graph().compile()) {
                nodes.apply(spec.query(), spec.id()).tell(new LogicNode.Retire(d.deploymentId()));
                placed.remove(LogicNode.entityId(spec.query(), spec.id()));
              }
              ctx.getLog().info("query={} undeployed", undeploy.query());
              undeploy.replyTo().tell(new Undeployed(undeploy.query()));
            });
  }

  private Effect<Event, State> onGetQueries(State state, GetQueries get) {
    List<QueryInfo> out = new ArrayList<>();
    for (QueryDeployed d : state.queries().values()) {
      List<NodeSpec> specs = d.graph().compile();
      Map<String, String> members = new TreeMap<>();
      for (NodeSpec s : specs) {
        String addr = placed.get(LogicNode.entityId(s.query(), s.id()));
        if (addr != null) {
          members.put(s.id().value(), addr);
        }
      }
      out.add(new QueryInfo(d.graph().id(), d.deploymentId(), specs, new TreeMap<>(d.placement()), members));
    }
    get.replyTo().tell(new Queries(out));
    return Effect().none();
  }

  private Effect<Event, State> onTick(State state, Tick tick) {
    place(state);
    for (QueryDeployed d : state.queries().values()) {
      if (ready.contains(d.graph().id().value())) {
        start(d);
      }
    }
    return Effect().none();
  }

  /** Writes the locations that changed: new nodes, and nodes whose member is gone. */
  private void place(State state) {
    if (writing || state.queries().isEmpty()) {
      return;
    }
    Map<String, String> siteOf = new HashMap<>();
    for (QueryDeployed d : state.queries().values()) {
      for (NodeSpec s : d.graph().compile()) {
        siteOf.put(LogicNode.entityId(s.query(), s.id()), d.placement().get(s.id().value()));
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
            ctx.getLog().info("node={} re-placed from {} to {}", node, before, addr);
          }
        });
    markReady(state);
    return Effect().none();
  }

  /** Starts every query whose nodes all have a location, and answers whoever deployed it. */
  private void markReady(State state) {
    for (QueryDeployed d : state.queries().values()) {
      String q = d.graph().id().value();
      if (ready.contains(q)) {
        continue;
      }
      List<NodeSpec> specs = d.graph().compile();
      Map<String, String> members = new TreeMap<>();
      for (NodeSpec s : specs) {
        String addr = placed.get(LogicNode.entityId(s.query(), s.id()));
        if (addr != null) {
          members.put(s.id().value(), addr);
        }
      }
      if (members.size() != specs.size()) {
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

  private void start(QueryDeployed d) {
    for (NodeSpec spec : d.graph().compile()) {
      nodes.apply(spec.query(), spec.id()).tell(new LogicNode.Start(spec, d.deploymentId()));
    }
  }

  /**
   * Members that failed (unreachable or downed) and those removed less than the removal grace
   * ago: the shard coordinator may not have released their shards yet, and a location change
   * then starts a hand-off that waits for the hand-off timeout.
   */
  private Set<String> crashedMembers() {
    var state = Cluster.get(ctx.getSystem()).state();
    Set<String> crashed = new HashSet<>();
    Set<String> members = new HashSet<>();
    state.getMembers().forEach(m -> members.add(m.address().toString()));
    long now = System.nanoTime();
    for (String addr : new HashSet<>(placed.values())) {
      if (!members.contains(addr)) {
        long since = removedSince.computeIfAbsent(addr, a -> now);
        if (now - since < removalGrace.toNanos()) {
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

  /** Site name → addresses of its Up members that run logic nodes. */
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
}
