package io.ferry.query.node;

import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import io.ferry.query.KeySlice;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.node.NodeEvent.BatchProcessed;
import io.ferry.query.node.NodeEvent.Configured;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.LongSupplier;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.ShardingMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * A logic node: one operator of a deployed query, a persistent entity of its own shard. A thin
 * shell over {@link NodeState}: it pulls batches from its upstreams, persists one {@link
 * BatchProcessed} per batch, and answers its consumers' long-poll pulls from its output log.
 * Entity id {@code <query>/<node>}.
 */
public final class LogicNode extends EventSourcedBehavior<LogicNode.Command, NodeEvent, NodeState> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "ferry-logic-node");

  public sealed interface Command extends CborSerializable {}

  /** Runs {@code spec} under {@code deploymentId}; sent again and again by the query registry, idempotent. */
  public record Start(NodeSpec spec, String deploymentId) implements Command {}

  /** A consumer asks for rows after {@code after}; {@code after} acknowledges everything before it. */
  /** {@code slice}: only the rows of these key groups (an instance of a keyed node), null for every row. */
  public record Pull(String deploymentId, String consumer, long after, int max, ActorRef<Command> replyTo, KeySlice slice)
      implements Command {
    public Pull(String deploymentId, String consumer, long after, int max, ActorRef<Command> replyTo) {
      this(deploymentId, consumer, after, max, replyTo, null);
    }
  }

  /**
   * Rows [from, next) of {@code upstream}'s output, or its end ({@code done}, no rows). Cut to
   * {@code slice} when not null: only that slice's rows, with the event times left out between them
   * ({@link KeySlice.Cut}).
   */
  public record Batch(String deploymentId, NodeId upstream, long from, List<Row> rows, long next, boolean done, KeySlice slice,
      long[] maxTimeLeftOut) implements Command {
    public Batch(String deploymentId, NodeId upstream, long from, List<Row> rows, long next, boolean done) {
      this(deploymentId, upstream, from, rows, next, done, null, null);
    }
  }

  /** Reads an in-cluster sink after {@code after}, acknowledging everything before it. */
  public record Read(long after, int max, ActorRef<SinkRows> replyTo) implements Command {}

  /** Rows [from, next) of an in-cluster sink; {@code gap} when {@code from} was already dropped. */
  public record SinkRows(long from, List<Row> rows, long next, boolean done, boolean gap) implements CborSerializable {}

  public record GetStatus(ActorRef<NodeStatus> replyTo) implements Command {}

  /**
   * Step 1 of a move: stop pulling, persist the checkpoint (an event and a snapshot) and reply
   * with its sequence number. Idempotent for the same migration.
   */
  public record Pause(String migrationId, ActorRef<MoveReply> replyTo) implements Command {}

  /**
   * Last step of a move: if this node runs at {@code expectedAddress} and its recovery has reached
   * {@code checkpointSeqNr}, take input again. Idempotent.
   */
  public record Resume(String migrationId, String expectedAddress, long checkpointSeqNr, ActorRef<MoveReply> replyTo)
      implements Command {}

  /**
   * An upstream has just started (after a move or a crash): a pull a consumer sent to its earlier
   * incarnation is lost, so pull again now instead of waiting for the pull timeout.
   */
  public record Poke(String deploymentId, NodeId upstream) implements Command {}

  /**
   * Before a move's stop: take a snapshot now, while the node keeps running (the pre-copy), so the
   * stop's checkpoint needs none. Answered with {@link PreCopiedAt} once the snapshot is stored.
   */
  public record PreCopy(String moveId, ActorRef<MoveReply> replyTo) implements Command {}

  public sealed interface MoveReply extends CborSerializable {}

  /** The pre-copy snapshot is stored at {@code seqNr}. */
  public record PreCopiedAt(String moveId, String entityId, String address, long seqNr) implements MoveReply {}

  /** The reason a node gives when asked to pause before it has been started. */
  public static final String NOT_RUNNING = "node is not running yet";

  /** Paused at {@code address} with its checkpoint at {@code seqNr}. */
  public record PausedAt(String migrationId, String entityId, String address, long seqNr) implements MoveReply {}

  /** Taking input again at {@code address}. */
  public record ResumedAt(String migrationId, String entityId, String address) implements MoveReply {}

  /** Not resumed: the node runs at {@code address}, not where expected, or its recovery is behind. */
  public record NotResumed(String migrationId, String entityId, String address, String reason) implements MoveReply {}

  /**
   * Not paused: migration {@code pausedBy} holds the node paused. The manager rolls this move back
   * if that migration still runs, and resumes the node for it if it has ended.
   */
  public record PausedByOther(String migrationId, String entityId, String address, String pausedBy) implements MoveReply {}

  /** Rows posted to an ingest source; answered once they are persisted (or refused). */
  public record Ingest(List<Row> rows, ActorRef<IngestReply> replyTo) implements Command {}

  public sealed interface IngestReply extends CborSerializable {}

  /** Persisted as the source's rows {@code [from, next)}. */
  public record Ingested(long from, long next) implements IngestReply {}

  /** Not taken; {@code retry} when a later attempt may succeed. */
  public record IngestRefused(String reason, boolean retry) implements IngestReply {}

  /** The query was undeployed: persist that and stop. */
  public record Retire(String deploymentId) implements Command {}

  /** A rescale asks an instance of a keyed node where it stands: its input anchor and its window state there. */
  public record ReportKeyed(String rescaleId, ActorRef<KeyedReply> replyTo) implements Command {}

  /**
   * A rescale hands an instance of a keyed node key groups {@code [firstGroup, endGroup)} and their
   * state, cut at input anchor {@code anchor}. Idempotent per rescale.
   */
  public record Regroup(String rescaleId, int firstGroup, int endGroup, long anchor, io.ferry.query.ops.OperatorState state,
      ActorRef<KeyedReply> replyTo) implements Command {}

  public sealed interface KeyedReply extends CborSerializable {}

  /** Where an instance stands for a rescale. */
  public record KeyedStanding(String entityId, long anchor, io.ferry.query.ops.OperatorState state) implements KeyedReply {}

  /** The instance holds the groups the rescale gave it. */
  public record KeyedRegrouped(String entityId) implements KeyedReply {}

  /** Not a keyed instance, not running yet ({@code retry}), or not standing at the cut. */
  public record KeyedRefused(String entityId, String reason, boolean retry) implements KeyedReply {}

  /** Where a node is and how far it got. */
  public record NodeStatus(
      String entityId,
      String address,
      boolean configured,
      String deploymentId,
      Map<String, Long> inputAnchors,
      long outputAnchor,
      long retainedRows,
      boolean done,
      String pausedBy)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private enum ReadSource implements Command {
    INSTANCE
  }

  /**
   * Sharding's stop message for this entity: its shard is handed off (a move) or the member
   * leaves. Sent by the local shard only.
   */
  enum HandOff implements Command {
    INSTANCE
  }

  /** Finds the entity of another node of the same query. */
  public interface Peers extends BiFunction<QueryId, NodeId, RecipientRef<Command>> {}

  public static String entityId(QueryId query, NodeId node) {
    return query.value() + "/" + node.value();
  }

  /**
   * How long the shard coordinator waits for the external allocation's answer before it falls
   * back to its own choice; Pekko's own default, named here because the strategy requires one.
   */
  private static final Duration ALLOCATION_TIMEOUT = Duration.ofSeconds(5);

  /**
   * Starts logic-node sharding on this member: hosted on members with {@code role}, each node its
   * own shard, shards placed by external allocation (the query registry writes their locations).
   * Called once per member by the runtime's {@code Ferry} extension.
   */
  public static void init(ClusterSharding sharding, ActorSystem<?> system, NodeSettings settings, String role) {
    Peers peers = (q, n) -> entityRef(sharding, q, n);
    sharding.init(
        Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, peers))
            .withRole(role)
            .withMessageExtractor(new OneShardPerNode())
            .withStopMessage(HandOff.INSTANCE)
            .withAllocationStrategy(PlacedShardAllocation.create(system, TYPE_KEY.name(), ALLOCATION_TIMEOUT)));
    NodeWarmUp.start(system); // the first node moved here must not pay for first-time work (issue 18)
  }

  /** The sharded entity of {@code node} of {@code query}, wherever it runs. */
  public static EntityRef<Command> entityRef(ClusterSharding sharding, QueryId query, NodeId node) {
    return sharding.entityRefFor(TYPE_KEY, entityId(query, node));
  }

  /** Each logic node is its own shard, so it can be placed and moved alone. */
  private static final class OneShardPerNode extends ShardingMessageExtractor<ShardingEnvelope<Command>, Command> {
    @Override
    public String entityId(ShardingEnvelope<Command> envelope) {
      return envelope.entityId();
    }

    @Override
    public String shardId(String entityId) {
      return entityId;
    }

    @Override
    public Command unwrapMessage(ShardingEnvelope<Command> envelope) {
      return envelope.message();
    }
  }

  public static Behavior<Command> create(String entityId, NodeSettings settings, Peers peers) {
    return create(entityId, settings, peers, System::nanoTime);
  }

  /**
   * As above, with the clock the pull timeout, long poll and pacing are measured on: tests pass
   * the clock of Pekko's ManualTime scheduler, so that no outcome depends on the machine's speed.
   */
  static Behavior<Command> create(String entityId, NodeSettings settings, Peers peers, LongSupplier nanoClock) {
    return Behaviors.withTimers(
        timers ->
            Behaviors.setup(
                ctx -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tick());
                  return new LogicNode(entityId, settings, peers, ctx, timers, nanoClock);
                }));
  }

  private final String entityId;
  private final NodeSettings settings;
  private final Peers peers;
  private final ActorContext<Command> ctx;
  private final LongSupplier nanoClock;
  private final long pullTimeoutNanos;
  private final long longPollNanos;
  /** Pulls this node has sent and not yet had answered, by upstream: the send time in nanos. */
  private final Map<NodeId, Long> pullsInFlight = new HashMap<>();
  /** Pulls this node holds for its consumers until it has rows for them (long poll). */
  private final Map<String, HeldPull> heldPulls = new HashMap<>();
  private boolean readScheduled;
  private long paceStartNanos = -1;
  private long pacedRows;
  /**
   * The newest resume of the migration that paused this node, asked while the node still runs at
   * its old member: handed on to the new incarnation at the hand-off (not persisted; the manager
   * asks again if it is lost).
   */
  private Resume heldResume;
  /** Sequence number of this incarnation's last pre-copy snapshot, or -1. */
  private long preCopiedSeqNr = -1;

  /** When this incarnation started, for the time its recovery took (a move's restore). */
  private final long startedNanos = System.nanoTime();

  private final NodeMeters meters;

  private record HeldPull(Pull pull, long sinceNanos) {}

  /**
   * An instance of a keyed node pulls only its key groups' rows ({@code ferry.rescale.slice-input},
   * on unless set off; off: every row, as before slices, e.g. to compare what crosses the network).
   */
  private final boolean sliceInput;

  private LogicNode(
      String entityId, NodeSettings settings, Peers peers, ActorContext<Command> ctx, TimerScheduler<Command> timers, LongSupplier nanoClock) {
    super(PersistenceId.of(TYPE_KEY.name(), entityId));
    this.entityId = entityId;
    this.settings = settings;
    this.peers = peers;
    this.ctx = ctx;
    this.nanoClock = nanoClock;
    this.meters = NodeMeters.create(FerryMetrics.get(ctx.getSystem()).registry(), entityId);
    this.pullTimeoutNanos = settings.pullTimeout().toNanos();
    this.longPollNanos = settings.longPoll().toNanos();
    com.typesafe.config.Config config = ctx.getSystem().settings().config();
    this.sliceInput = !config.hasPath("ferry.rescale.slice-input") || config.getBoolean("ferry.rescale.slice-input");
  }

  @Override
  public NodeState emptyState() {
    return new NodeState();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 1).withDeleteEventsOnSnapshot();
  }

  @Override
  public boolean shouldSnapshot(NodeState state, NodeEvent event, long sequenceNr) {
    // The checkpoint of a move: the target recovers from this snapshot instead of replaying events,
    // unless a pre-copy took one just before (then the stop writes only the event).
    return MoveCheckpoint.snapshotAfter(event, sequenceNr, preCopiedSeqNr);
  }

  @Override
  public SnapshotAdapter<NodeState> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(NodeState state) {
        return state.snapshot();
      }

      @Override
      public NodeState fromJournal(Object from) {
        return NodeState.fromSnapshot((NodeSnapshot) from);
      }
    };
  }

  @Override
  public SignalHandler<NodeState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              NodeLifecycle.publish(entityId, instance(), ctx.getSystem().address().toString(), true);
              ctx.getLog().debug("node={} recovered in {} ms", entityId, (System.nanoTime() - startedNanos) / 1_000_000);
              state.recovered();
              if (state.configured()) {
                ctx.getLog().debug("node={} recovered output={} inputs={}", entityId, state.outputAnchor(), state.inputAnchors());
                pokeConsumers(state);
                drive(state);
              }
            })
        .onSignal(
            PostStop.instance(),
            state -> {
              NodeLifecycle.publish(entityId, instance(), ctx.getSystem().address().toString(), false);
              meters.close();
              state.close();
            })
        .build();
  }

  @Override
  public EventHandler<NodeState, NodeEvent> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onAnyEvent(
            (state, event) -> {
              state.apply(event);
              return state;
            });
  }

  @Override
  public CommandHandler<Command, NodeEvent, NodeState> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Start.class, this::onStart)
        .onCommand(Pull.class, this::onPull)
        .onCommand(Batch.class, this::onBatch)
        .onCommand(Read.class, this::onRead)
        .onCommand(GetStatus.class, this::onGetStatus)
        .onCommand(Retire.class, this::onRetire)
        .onCommand(Pause.class, this::onPause)
        .onCommand(Poke.class, this::onPoke)
        .onCommand(Resume.class, this::onResume)
        .onCommand(Tick.class, this::onTick)
        .onCommand(ReadSource.class, this::onReadSource)
        .onCommand(Ingest.class, this::onIngest)
        .onCommand(ReportKeyed.class, this::onReportKeyed)
        .onCommand(Regroup.class, this::onRegroup)
        .onCommand(HandOff.class, this::onHandOff)
        .onCommand(PreCopy.class, this::onPreCopy)
        .build();
  }

  private Effect<NodeEvent, NodeState> onStart(NodeState state, Start start) {
    if (state.configured() && state.deploymentId().equals(start.deploymentId())) {
      return Effect().none();
    }
    if (!start.spec().id().equals(nodeIdOf(entityId)) || !start.spec().query().equals(queryIdOf(entityId))) {
      throw new IllegalArgumentException("entity " + entityId + " was sent the spec of " + start.spec().query() + "/" + start.spec().id());
    }
    ctx.getLog().info("node={} deployment={} starts {} at {}", entityId, start.deploymentId(), start.spec().op().getClass().getSimpleName(), ctx.getSystem().address());
    pullsInFlight.clear();
    heldPulls.clear();
    return Effect().persist(new Configured(start.spec(), start.deploymentId())).thenRun(this::drive);
  }

  private Effect<NodeEvent, NodeState> onPull(NodeState state, Pull pull) {
    if (!state.configured() || !state.deploymentId().equals(pull.deploymentId())) {
      return Effect().none(); // the consumer retries once this node runs the same deployment
    }
    if (state.retired()) {
      return Effect().none(); // holding the pull would answer it empty, as if the node were alive
    }
    if (!answer(state, pull)) {
      heldPulls.put(pull.consumer(), new HeldPull(pull, nanoClock.getAsLong()));
    }
    meters.observe(state); // the pull acknowledged rows: the consumer's backlog changed
    // The pull may have acknowledged rows, making room for more input.
    drive(state);
    return Effect().none();
  }

  /** Answers a pull if there is something to say; false when it must be held (long poll). */
  private boolean answer(NodeState state, Pull pull) {
    Optional<NodeState.Served> served =
        state.serve(pull.consumer(), pull.after(), Math.min(pull.max(), settings.batchRowsMax()), pull.slice());
    if (served.isEmpty()) {
      return false;
    }
    NodeState.Served s = served.get();
    if (s.gap() && state.acknowledged(pull.consumer()) >= state.outputBase()) {
      // A delayed or repeated pull: the consumer already acknowledged past it (found by the simulator).
      ctx.getLog().debug("node={} consumer={} stale pull after {} ignored", entityId, pull.consumer(), pull.after());
      return true;
    }
    if (s.gap()) {
      ctx.getLog().error("node={} consumer={} asked after {} but the log starts at {}: rows were dropped too early",
          entityId, pull.consumer(), pull.after(), state.outputBase());
      return true;
    }
    pull.replyTo().tell(new Batch(state.deploymentId(), state.spec().id(), s.from(), s.rows(), s.next(), s.done(), s.slice(), s.maxTimeLeftOut()));
    meters.sent(pull.consumer(), s.rows(), s.maxTimeLeftOut() == null ? 0 : 8L * s.maxTimeLeftOut().length);
    return true;
  }

  private Effect<NodeEvent, NodeState> onBatch(NodeState state, Batch batch) {
    if (!state.configured() || !state.deploymentId().equals(batch.deploymentId())) {
      return Effect().none();
    }
    Optional<BatchProcessed> event =
        state.onBatch(batch.upstream(), batch.from(), batch.rows(), batch.next(), batch.done(), batch.slice(), batch.maxTimeLeftOut());
    if (batch.from() == state.inputAnchor(batch.upstream())) {
      Long sent = pullsInFlight.remove(batch.upstream()); // the answer to the current pull: the next may go
      if (sent != null) {
        meters.pulled(nanoClock.getAsLong() - sent);
      }
    }
    if (event.isEmpty()) {
      drive(state);
      return Effect().none();
    }
    return persistBatch(event.get());
  }

  private Effect<NodeEvent, NodeState> onReadSource(NodeState state, ReadSource read) {
    readScheduled = false;
    if (!state.configured() || !state.isSource() || !state.wantsInput(settings.retainRowsMax())) {
      return Effect().none();
    }
    int max = paceBudget(state);
    Optional<BatchProcessed> event = state.readSource(max);
    if (event.isEmpty()) {
      return Effect().none(); // nothing yet: the next tick tries again
    }
    pacedRows += event.get().outputs().size();
    return persistBatch(event.get());
  }

  private Effect<NodeEvent, NodeState> onIngest(NodeState state, Ingest ingest) {
    NodeState.IngestAnswer answer = state.ingest(ingest.rows());
    if (answer instanceof NodeState.RefuseIngest r) {
      ingest.replyTo().tell(new IngestRefused(r.reason(), r.retry()));
      return Effect().none();
    }
    BatchProcessed event = ((NodeState.AcceptIngest) answer).event();
    long start = System.nanoTime();
    return Effect()
        .persist(event)
        .thenRun(
            s -> {
              meters.batchPersisted(System.nanoTime() - start, event.outputs().size(), event.outputs().size());
              ingest.replyTo().tell(new Ingested(event.from(), event.next()));
              afterPersist(s);
            });
  }

  /** Rows a paced generator may emit now, so a demo source produces at its configured rate. */
  private int paceBudget(NodeState state) {
    int max = settings.batchRowsMax();
    if (state.spec().op() instanceof OperatorSpec.Generate g && g.ratePerSecond() > 0) {
      long now = nanoClock.getAsLong();
      if (paceStartNanos < 0) {
        paceStartNanos = now;
      }
      long allowed = (long) ((now - paceStartNanos) / 1e9 * g.ratePerSecond()) - pacedRows;
      max = (int) Math.max(0, Math.min(max, allowed));
    }
    return max;
  }

  /** Persists one batch's event, timed from now until it is written. */
  private Effect<NodeEvent, NodeState> persistBatch(BatchProcessed event) {
    long start = System.nanoTime();
    return Effect()
        .persist(event)
        .thenRun(
            state -> {
              state.persisted(event);
              // a source's anchor may be a byte offset (JSON lines): it took in the rows it output
              long in = state.spec().op().isSource() ? event.outputs().size() : event.next() - event.from();
              meters.batchPersisted(System.nanoTime() - start, in, event.outputs().size());
              afterPersist(state);
            });
  }

  private void afterPersist(NodeState state) {
    meters.observe(state);
    serveHeld(state);
    drive(state);
  }

  private Effect<NodeEvent, NodeState> onRead(NodeState state, Read read) {
    if (!state.configured()) {
      read.replyTo().tell(new SinkRows(read.after(), List.of(), read.after(), false, false));
      return Effect().none();
    }
    Optional<NodeState.Served> served = state.serve(NodeState.READER, read.after(), Math.min(read.max(), settings.batchRowsMax()));
    NodeState.Served s = served.orElse(new NodeState.Served(read.after(), List.of(), read.after(), false, false));
    read.replyTo().tell(new SinkRows(s.from(), s.rows(), s.next(), s.done(), s.gap()));
    drive(state);
    return Effect().none();
  }

  private Effect<NodeEvent, NodeState> onPoke(NodeState state, Poke poke) {
    if (state.configured() && state.deploymentId().equals(poke.deploymentId()) && state.spec().inputs().contains(poke.upstream())) {
      pullsInFlight.remove(poke.upstream());
      drive(state);
    }
    return Effect().none();
  }

  /** Tells this node's downstream nodes to pull again: their pulls to an earlier incarnation are lost. */
  private void pokeConsumers(NodeState state) {
    if (state.retired()) {
      return;
    }
    for (NodeId downstream : state.spec().outputs()) {
      peers.apply(state.spec().query(), downstream).tell(new Poke(state.deploymentId(), state.spec().id()));
    }
  }

  private Effect<NodeEvent, NodeState> onPause(NodeState state, Pause pause) {
    String here = ctx.getSystem().address().toString();
    NodeState.PauseAnswer answer = state.pause(pause.migrationId());
    if (answer instanceof NodeState.NotRunningYet) {
      pause.replyTo().tell(new NotResumed(pause.migrationId(), entityId, here, NOT_RUNNING));
      return Effect().none();
    }
    if (answer instanceof NodeState.AlreadyPaused) {
      pause.replyTo().tell(new PausedAt(pause.migrationId(), entityId, here, lastSequenceNumber(ctx)));
      return Effect().none();
    }
    if (answer instanceof NodeState.PausedByOther other) {
      pause.replyTo().tell(new PausedByOther(pause.migrationId(), entityId, here, other.migrationId()));
      return Effect().none();
    }
    if (answer instanceof NodeState.MigrationOver over) {
      ctx.getLog().warn("node={} migration={} refused a late pause: that migration has ended here", entityId, over.migrationId());
      pause.replyTo().tell(new NotResumed(pause.migrationId(), entityId, here, "migration " + over.migrationId() + " has ended"));
      return Effect().none();
    }
    pullsInFlight.clear();
    ctx.getLog().info("node={} migration={} paused at {}", entityId, pause.migrationId(), here);
    return Effect()
        .persist(((NodeState.PersistPause) answer).event())
        .thenRun(s -> pause.replyTo().tell(new PausedAt(pause.migrationId(), entityId, here, lastSequenceNumber(ctx))));
  }

  private Effect<NodeEvent, NodeState> onResume(NodeState state, Resume resume) {
    String here = ctx.getSystem().address().toString();
    long seqNr = lastSequenceNumber(ctx);
    NodeState.ResumeAnswer answer = state.resume(resume.migrationId(), here.equals(resume.expectedAddress()), seqNr, resume.checkpointSeqNr());
    if (answer instanceof NodeState.RunsElsewhere) {
      if (state.pausedBy().filter(resume.migrationId()::equals).isPresent()) {
        // Placed elsewhere by this very migration: its shard is about to be handed off. Answered
        // by the new incarnation as soon as it has recovered (onHandOff), not at the manager's next retry.
        heldResume = resume;
        return Effect().none();
      }
      resume.replyTo().tell(new NotResumed(resume.migrationId(), entityId, here, "runs at " + here));
      return Effect().none();
    }
    if (answer instanceof NodeState.BehindCheckpoint behind) {
      ctx.getLog().warn("node={} recovered to {} but the checkpoint is {}: restarting recovery", entityId, seqNr, resume.checkpointSeqNr());
      resume.replyTo().tell(new NotResumed(resume.migrationId(), entityId, here, behind.reason()));
      return Effect().stop();
    }
    if (answer instanceof NodeState.AlreadyResumed) {
      resume.replyTo().tell(new ResumedAt(resume.migrationId(), entityId, here));
      return Effect().none();
    }
    ctx.getLog().info("node={} migration={} resumed at {}", entityId, resume.migrationId(), here);
    return Effect()
        .persist(((NodeState.PersistResume) answer).event())
        .thenRun(
            s -> {
              resume.replyTo().tell(new ResumedAt(resume.migrationId(), entityId, here));
              if (s.configured()) {
                pokeConsumers(s);
                drive(s);
              }
            });
  }

  private Effect<NodeEvent, NodeState> onReportKeyed(NodeState state, ReportKeyed ask) {
    Optional<NodeState.KeyedReport> report = state.keyedReport();
    if (report.isEmpty()) {
      ask.replyTo().tell(new KeyedRefused(entityId, state.configured() ? "not an instance of a keyed node" : NOT_RUNNING, !state.configured()));
    } else {
      ask.replyTo().tell(new KeyedStanding(entityId, report.get().anchor(), report.get().state()));
    }
    return Effect().none();
  }

  private Effect<NodeEvent, NodeState> onRegroup(NodeState state, Regroup r) {
    NodeState.RegroupAnswer answer = state.regroup(r.rescaleId(), r.firstGroup(), r.endGroup(), r.anchor(), r.state());
    if (answer instanceof NodeState.AlreadyRegrouped) {
      r.replyTo().tell(new KeyedRegrouped(entityId));
      return Effect().none();
    }
    if (answer instanceof NodeState.RegroupRefused refused) {
      r.replyTo().tell(new KeyedRefused(entityId, refused.reason(), refused.retry()));
      return Effect().none();
    }
    ctx.getLog().info("node={} rescale={} takes key groups [{}, {}) at anchor {}", entityId, r.rescaleId(), r.firstGroup(), r.endGroup(), r.anchor());
    return Effect()
        .persist(((NodeState.PersistRegroup) answer).event())
        .thenRun(s -> {
          r.replyTo().tell(new KeyedRegrouped(entityId));
          meters.observe(s);
        });
  }

  /**
   * The shard is handed off: a resume held for the migration that still pauses this node goes to
   * the node's entity again. The local region holds it until the shard's new home is known and
   * delivers it there, which starts the node at its target at once; the new incarnation recovers,
   * resumes and answers the manager's ask.
   */
  private Effect<NodeEvent, NodeState> onHandOff(NodeState state, HandOff handOff) {
    if (heldResume != null && state.configured() && state.pausedBy().filter(heldResume.migrationId()::equals).isPresent()) {
      peers.apply(state.spec().query(), state.spec().id()).tell(heldResume);
    }
    heldResume = null;
    return Effect().stop();
  }

  private Effect<NodeEvent, NodeState> onPreCopy(NodeState state, PreCopy preCopy) {
    String here = ctx.getSystem().address().toString();
    if (!MoveCheckpoint.canPreCopy(state)) {
      // nothing to gain: the move's stop takes its snapshot as before
      preCopy.replyTo().tell(new NotResumed(preCopy.moveId(), entityId, here, "no pre-copy: not running"));
      return Effect().none();
    }
    return Effect()
        .persist(new NodeEvent.PreCopied(preCopy.moveId()))
        .thenRun(
            s -> {
              preCopiedSeqNr = lastSequenceNumber(ctx);
              preCopy.replyTo().tell(new PreCopiedAt(preCopy.moveId(), entityId, here, preCopiedSeqNr));
            });
  }

  private Effect<NodeEvent, NodeState> onRetire(NodeState state, Retire retire) {
    if (!state.configured() || state.retired() || !state.deploymentId().equals(retire.deploymentId())) {
      return Effect().none();
    }
    ctx.getLog().info("node={} deployment={} retired", entityId, retire.deploymentId());
    heldPulls.clear();
    pullsInFlight.clear();
    return Effect().persist(new NodeEvent.Retired(retire.deploymentId())).thenStop();
  }

  private Effect<NodeEvent, NodeState> onGetStatus(NodeState state, GetStatus get) {
    Map<String, Long> anchors = new HashMap<>();
    if (state.configured()) {
      state.inputAnchors().forEach((k, v) -> anchors.put(k.value(), v));
    }
    get.replyTo().tell(
        new NodeStatus(
            entityId,
            ctx.getSystem().address().toString(),
            state.configured(),
            state.configured() ? state.deploymentId() : "",
            anchors,
            state.configured() ? state.outputAnchor() : 0,
            state.configured() ? state.unacknowledged() : 0,
            state.configured() && state.outputDone(),
            state.configured() ? state.pausedBy().orElse("") : ""));
    return Effect().none();
  }

  private Effect<NodeEvent, NodeState> onTick(NodeState state, Tick tick) {
    if (!state.configured()) {
      return Effect().none();
    }
    long now = nanoClock.getAsLong();
    // Answer held pulls that waited a full long poll, so consumers know this node is alive.
    heldPulls.values().removeIf(
        h -> {
          if (now - h.sinceNanos() < longPollNanos) {
            return false;
          }
          h.pull().replyTo().tell(new Batch(state.deploymentId(), state.spec().id(), h.pull().after(), List.of(), h.pull().after(), false));
          return true;
        });
    // A pull that got no answer was lost (a hand-off drops messages): send it again.
    pullsInFlight.entrySet().removeIf(e -> {
      boolean lost = now - e.getValue() > pullTimeoutNanos;
      if (lost) {
        meters.pullTimedOut(e.getKey().value());
      }
      return lost;
    });
    drive(state);
    return Effect().none();
  }

  private void serveHeld(NodeState state) {
    heldPulls.values().removeIf(h -> answer(state, h.pull()));
  }

  /** Sends the pulls (or schedules the source read) the node may make now. */
  private void drive(NodeState state) {
    if (!state.configured() || !state.wantsInput(settings.retainRowsMax())) {
      return;
    }
    if (state.isSource()) {
      if (!readScheduled) {
        readScheduled = true;
        ctx.getSelf().tell(ReadSource.INSTANCE);
      }
      return;
    }
    long now = nanoClock.getAsLong();
    for (NodeId upstream : state.openInputs()) {
      if (pullsInFlight.containsKey(upstream)) {
        continue;
      }
      pullsInFlight.put(upstream, now);
      meters.pullSent(upstream.value());
      peers.apply(state.spec().query(), upstream)
          .tell(new Pull(state.deploymentId(), state.spec().id().value(), state.inputAnchor(upstream), settings.batchRowsMax(), ctx.getSelf(),
              sliceInput ? state.inputSlice() : null));
    }
  }

  /** This incarnation of the node: its actor's unique id. */
  private String instance() {
    return ctx.getSystem().address() + "#" + ctx.getSelf().path().uid();
  }

  static QueryId queryIdOf(String entityId) {
    int slash = entityId.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("logic node entity id must be <query>/<node>, got " + entityId);
    }
    return new QueryId(entityId.substring(0, slash));
  }

  static NodeId nodeIdOf(String entityId) {
    return new NodeId(entityId.substring(entityId.indexOf('/') + 1));
  }

}
