package io.ferry.runtime.internal;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MigrationReport.Outcome;
import io.ferry.placement.MoveProcess;
import io.ferry.placement.RescaleProcess;
import io.ferry.placement.RescaleProcess.Rescale;
import io.ferry.placement.RescaleProcess.RescaleReport;
import io.ferry.query.KeyGroups;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.node.LogicNode;
import io.ferry.query.ops.WindowState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The rescale manager: a persistent cluster singleton that runs {@link RescaleProcess} for keyed
 * nodes, a thin shell like the query registry is for moves. It learns a query's instances from the
 * registry, persists the process's events, and carries out its asks to the logic nodes (pause and
 * resume the upstream, report and regroup the instances) and its timer. A manager that restarts
 * replays its rescales and rolls a running one back (before the cut) or forward (after it).
 */
public final class RescaleHost extends EventSourcedBehavior<RescaleHost.Command, RescaleProcess.Event, RescaleHost.State> {

  /** Ended rescales kept for the API; older ones are dropped, never a running one. */
  static final int ENDED_RESCALES_MAX = 100;

  public sealed interface Command extends CborSerializable {}

  /** Rescales keyed node {@code node} of {@code query} to {@code parallelism} instances while it runs. */
  public record Rescale(QueryId query, NodeId node, int parallelism, ActorRef<Reply> replyTo) implements Command {}

  public record GetRescales(ActorRef<Rescales> replyTo) implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Ended(RescaleReport report) implements Reply {}

  public record Refused(String reason) implements Reply {}

  public record Rescales(List<RescaleReport> rescales) implements CborSerializable {}

  // Local messages of this actor (ask adapters, timers): never sent between members.
  private record Checked(Rescale request, QueryRegistry.Queries queries, String failure) implements Command, NoSerializationVerificationNeeded {}

  private record Replied(String id, RescaleProcess.Input input) implements Command, NoSerializationVerificationNeeded {}

  private record UpstreamPausedAt(String id, NodeId upstream, String address) implements Command, NoSerializationVerificationNeeded {}

  private record Timer(String id) implements Command, NoSerializationVerificationNeeded {}

  /** Resume the upstream at the address it runs at now (a resume refuses a node that is elsewhere). */
  private record ResumeAt(String id, NodeId upstream, String address) implements Command, NoSerializationVerificationNeeded {}

  /** The rescales recorded, running and recently ended, by id in start order. */
  public record State(Map<String, RescaleProcess.Rescale> rescales) implements CborSerializable {
    State with(RescaleProcess.Event e) {
      Map<String, RescaleProcess.Rescale> m = new LinkedHashMap<>(rescales);
      if (e instanceof RescaleProcess.RescaleStarted s) {
        m.put(s.id(), RescaleProcess.Rescale.started(s));
        while (m.size() > ENDED_RESCALES_MAX && m.values().stream().anyMatch(r -> !r.active())) {
          m.values().stream().filter(r -> !r.active()).findFirst().ifPresent(r -> m.remove(r.id()));
        }
      } else {
        m.put(e.id(), m.get(e.id()).apply(e));
      }
      return new State(m);
    }

    /** The parallelism of a keyed node of a deployment: its last completed rescale's, else {@code declared}. */
    int parallelism(String deploymentId, NodeId node, int declared) {
      int p = declared;
      for (RescaleProcess.Rescale r : rescales.values()) {
        if (r.outcome() == Outcome.COMPLETED && r.started().deploymentId().equals(deploymentId) && r.started().node().equals(node)) {
          p = r.started().to();
        }
      }
      return p;
    }
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final QueryRegistry.Nodes nodes;
  private final ActorRef<QueryRegistry.Command> registry;
  private final RescaleProcess.Settings settings;
  private final Duration askTimeout;
  private final Map<String, Flight> flights = new HashMap<>();

  private record Flight(RescaleProcess process, ActorRef<Reply> replyTo) {}

  public static Behavior<Command> create(QueryRegistry.Nodes nodes, ActorRef<QueryRegistry.Command> registry, RescaleProcess.Settings settings) {
    return Behaviors.withTimers(timers -> Behaviors.setup(ctx -> new RescaleHost(ctx, timers, nodes, registry, settings)));
  }

  private RescaleHost(ActorContext<Command> ctx, TimerScheduler<Command> timers, QueryRegistry.Nodes nodes,
      ActorRef<QueryRegistry.Command> registry, RescaleProcess.Settings settings) {
    super(PersistenceId.ofUniqueId("ferry-rescale-manager"));
    this.ctx = ctx;
    this.timers = timers;
    this.nodes = nodes;
    this.registry = registry;
    this.settings = settings;
    this.askTimeout = settings.stepTimeout();
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  @Override
  public EventHandler<State, RescaleProcess.Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::with);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          for (RescaleProcess.Rescale r : state.rescales().values()) {
            if (r.active()) {
              ctx.getLog().warn("rescale={} was running when the manager stopped (stage {}): rolling {}", r.id(), r.stage(),
                  r.stage() == RescaleProcess.Stage.STARTED ? "back" : "forward");
              RescaleProcess.Begun b = RescaleProcess.recover(settings, r);
              Flight f = new Flight(b.process(), null);
              flights.put(r.id(), f);
              execute(f, b.decision().effects());
            }
          }
        })
        .build();
  }

  @Override
  public CommandHandler<Command, RescaleProcess.Event, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Rescale.class, this::onRescale)
        .onCommand(Checked.class, this::onChecked)
        .onCommand(GetRescales.class, this::onGetRescales)
        .onCommand(Replied.class, this::onReplied)
        .onCommand(UpstreamPausedAt.class, this::onUpstreamPausedAt)
        .onCommand(Timer.class, this::onTimer)
        .onCommand(ResumeAt.class, this::onResumeAt)
        .build();
  }

  private Effect<RescaleProcess.Event, State> onRescale(State state, Rescale r) {
    ctx.ask(QueryRegistry.Queries.class, registry, askTimeout, QueryRegistry.GetQueries::new,
        (q, failure) -> new Checked(r, q, failure == null ? null : "the query registry did not answer: " + failure.getMessage()));
    return Effect().none();
  }

  private Effect<RescaleProcess.Event, State> onChecked(State state, Checked c) {
    Rescale r = c.request();
    if (c.failure() != null) {
      r.replyTo().tell(new Refused(c.failure()));
      return Effect().none();
    }
    QueryRegistry.QueryInfo info = c.queries().queries().stream().filter(q -> q.query().equals(r.query())).findFirst().orElse(null);
    if (info == null) {
      r.replyTo().tell(new Refused("query " + r.query() + " is not deployed"));
      return Effect().none();
    }
    List<NodeSpec> instances = new ArrayList<>();
    for (int i = 0; ; i++) {
      NodeId id = KeyGroups.instanceId(r.node(), i);
      NodeSpec s = info.nodes().stream().filter(n -> n.id().equals(id) && n.op() instanceof OperatorSpec.Keyed).findFirst().orElse(null);
      if (s == null) {
        break;
      }
      instances.add(s);
    }
    if (instances.isEmpty()) {
      r.replyTo().tell(new Refused("query " + r.query() + " has no keyed node '" + r.node() + "' (declare it with a parallelism)"));
      return Effect().none();
    }
    int declared = (int) instances.stream().filter(s -> !((OperatorSpec.Keyed) s.op()).range().isEmpty()).count();
    int from = state.parallelism(info.deploymentId(), r.node(), declared);
    if (r.parallelism() < 1 || r.parallelism() > instances.size()) {
      r.replyTo().tell(new Refused("node '" + r.node() + "' runs 1.." + instances.size() + " instances (its maxParallelism), not " + r.parallelism()));
      return Effect().none();
    }
    if (r.parallelism() == from) {
      r.replyTo().tell(new Refused("node '" + r.node() + "' already runs " + from + " instances"));
      return Effect().none();
    }
    for (RescaleProcess.Rescale x : state.rescales().values()) {
      if (x.active() && x.started().query().equals(r.query()) && x.started().node().equals(r.node())) {
        r.replyTo().tell(new Refused("node '" + r.node() + "' is being rescaled by " + x.id()));
        return Effect().none();
      }
    }
    RescaleProcess.RescaleStarted started = new RescaleProcess.RescaleStarted("rescale-" + UUID.randomUUID(), r.query(),
        info.deploymentId(), r.node(), instances.get(0).inputs().get(0), instances.stream().map(NodeSpec::id).toList(), from,
        r.parallelism(), System.currentTimeMillis());
    RescaleProcess.Begun b = RescaleProcess.start(settings, started, now());
    Flight f = new Flight(b.process(), r.replyTo());
    return Effect().persist(b.decision().events()).thenRun(s -> {
      ctx.getLog().info("rescale={} query={} node={} {} -> {} instances started", started.id(), r.query(), r.node(), from, r.parallelism());
      flights.put(started.id(), f);
      execute(f, b.decision().effects());
    });
  }

  private Effect<RescaleProcess.Event, State> onGetRescales(State state, GetRescales g) {
    g.replyTo().tell(new Rescales(state.rescales().values().stream().map(RescaleProcess.Rescale::report).toList()));
    return Effect().none();
  }

  private Effect<RescaleProcess.Event, State> onReplied(State state, Replied r) {
    Flight f = flights.get(r.id());
    if (f == null || r.input() == null) {
      return Effect().none(); // a lost or useless answer: the timer asks again
    }
    return decide(f, f.process().on(r.input(), now()));
  }

  /** The upstream paused: ask where its output ends, which is the cut every instance must reach. */
  private Effect<RescaleProcess.Event, State> onUpstreamPausedAt(State state, UpstreamPausedAt p) {
    Flight f = flights.get(p.id());
    if (f == null) {
      return Effect().none();
    }
    QueryId q = f.process().rescale().started().query();
    ctx.ask(LogicNode.NodeStatus.class, nodes.apply(q, p.upstream()), askTimeout, LogicNode.GetStatus::new,
        (s, failure) -> new Replied(p.id(), s == null || !s.address().equals(p.address()) ? null
            : new RescaleProcess.UpstreamPaused(s.outputAnchor(), s.done())));
    return Effect().none();
  }

  private Effect<RescaleProcess.Event, State> onResumeAt(State state, ResumeAt r) {
    Flight f = flights.get(r.id());
    if (f == null) {
      return Effect().none();
    }
    ctx.ask(LogicNode.MoveReply.class, nodes.apply(f.process().rescale().started().query(), r.upstream()), askTimeout,
        x -> new LogicNode.Resume(r.id(), r.address(), 0, x),
        (reply, failure) -> new Replied(r.id(), reply instanceof LogicNode.ResumedAt ? new RescaleProcess.UpstreamResumed() : null));
    return Effect().none();
  }

  private Effect<RescaleProcess.Event, State> onTimer(State state, Timer t) {
    Flight f = flights.get(t.id());
    return f == null ? Effect().none() : decide(f, f.process().on(new RescaleProcess.TimerFired(), now()));
  }

  private Effect<RescaleProcess.Event, State> decide(Flight f, RescaleProcess.Decision d) {
    if (d.events().isEmpty()) {
      execute(f, d.effects());
      return Effect().none();
    }
    return Effect().persist(d.events()).thenRun(s -> execute(f, d.effects()));
  }

  private void execute(Flight f, List<RescaleProcess.Effect> effects) {
    RescaleProcess.RescaleStarted s = f.process().rescale().started();
    String id = s.id();
    for (RescaleProcess.Effect e : effects) {
      if (e instanceof RescaleProcess.AskPauseUpstream a) {
        ctx.ask(LogicNode.MoveReply.class, nodes.apply(s.query(), a.upstream()), askTimeout, r -> new LogicNode.Pause(id, r),
            (reply, failure) -> pauseAnswer(id, a.upstream(), reply));
      } else if (e instanceof RescaleProcess.AskReport a) {
        ctx.ask(LogicNode.KeyedReply.class, nodes.apply(s.query(), a.instance()), askTimeout, r -> new LogicNode.ReportKeyed(id, r),
            (reply, failure) -> new Replied(id, reply instanceof LogicNode.KeyedStanding k && k.state() instanceof WindowState w
                ? new RescaleProcess.InstanceReport(a.instance(), k.anchor(), w) : null));
      } else if (e instanceof RescaleProcess.AskRegroup a) {
        ctx.ask(LogicNode.KeyedReply.class, nodes.apply(s.query(), a.instance()), askTimeout,
            r -> new LogicNode.Regroup(id, a.range().first(), a.range().end(), a.anchor(), a.state(), r),
            (reply, failure) -> new Replied(id, reply instanceof LogicNode.KeyedRegrouped ? new RescaleProcess.InstanceRegrouped(a.instance())
                : reply instanceof LogicNode.KeyedRefused x ? new RescaleProcess.RegroupRefused(a.instance(), x.reason()) : null));
      } else if (e instanceof RescaleProcess.AskResumeUpstream a) {
        // Resumed wherever it runs now: it was paused, so no move can have taken it elsewhere meanwhile.
        ctx.ask(LogicNode.NodeStatus.class, nodes.apply(s.query(), a.upstream()), askTimeout, LogicNode.GetStatus::new,
            (st, failure) -> st == null ? new Replied(id, null) : new ResumeAt(id, a.upstream(), st.address()));
      } else if (e instanceof RescaleProcess.StartTimer t) {
        timers.startSingleTimer("rescale-" + id, new Timer(id), Duration.ofMillis(t.afterMillis()));
      } else if (e instanceof RescaleProcess.Finish fin) {
        timers.cancel("rescale-" + id);
        flights.remove(id);
        RescaleReport report = f.process().rescale().report();
        ctx.getLog().info("rescale={} {} {} -> {}: total {} ms, upstream paused {} ms{}", id, fin.outcome(), s.from(), s.to(),
            report.totalMillis(), report.pauseMillis(), fin.reason().isEmpty() ? "" : " (" + fin.reason() + ")");
        if (f.replyTo() != null) {
          f.replyTo().tell(new Ended(report));
        }
      }
    }
  }


  private Command pauseAnswer(String id, NodeId upstream, LogicNode.MoveReply reply) {
    if (reply instanceof LogicNode.PausedAt p) {
      return new UpstreamPausedAt(id, upstream, p.address());
    } else if (reply instanceof LogicNode.PausedByOther o) {
      return new Replied(id, new RescaleProcess.UpstreamRefused("paused by migration " + o.pausedBy(), false));
    } else if (reply instanceof LogicNode.NotResumed n) {
      return new Replied(id, new RescaleProcess.UpstreamRefused(n.reason(), n.reason().equals(LogicNode.NOT_RUNNING)));
    }
    return new Replied(id, null);
  }

  private static MoveProcess.Now now() {
    return new MoveProcess.Now(System.nanoTime() / 1_000_000, System.currentTimeMillis());
  }
}
