package io.ferry.query.node;

import io.ferry.query.KeySlice;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.Row;
import io.ferry.query.node.NodeEvent.BatchProcessed;
import io.ferry.query.node.NodeEvent.Configured;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.Operators;
import io.ferry.query.ops.SourceReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The pull/anchor protocol of one logic node as plain Java: which batches it accepts, what it
 * persists for them, what it serves to its consumers and when its output log may shrink. The
 * {@link LogicNode} actor persists the events this class produces and feeds them back to {@link
 * #apply}; the simulator drives it directly.
 */
public final class NodeState {

  /** The consumer key of an in-cluster sink's API reader. */
  public static final String READER = "@reader";

  /**
   * How many ended migrations a node remembers, newest kept: enough that a pause a dead manager sent
   * before a few later moves still lands on a node that knows its migration is over.
   */
  public static final int ENDED_MIGRATIONS_MAX = 32;

  private NodeSpec spec;
  private String deploymentId;
  private final Map<NodeId, Long> inputAnchors = new LinkedHashMap<>();
  private final Set<NodeId> inputsDone = new HashSet<>();
  private OutputLog log = new OutputLog(0, List.of());
  private boolean outputDone;
  private boolean retired;
  /** The migration that paused this node, or null. */
  private String pausedBy;
  /** Migrations this node has been resumed for, oldest first: a pause for one of them comes too late. */
  private final LinkedHashSet<String> endedMigrations = new LinkedHashSet<>();
  private Operator operator;
  private SourceReader source;
  private final Map<String, Long> acks = new HashMap<>();
  private final AnchorCheck anchorCheck;

  /**
   * Whether a batch (or its persisted event) that starts at {@code from} may be taken by a node whose
   * anchor for that upstream is {@code anchor}. Logic nodes use {@link #EXACT}; the simulator passes
   * a broken one to show that its once-only checker catches the duplicates the anchors prevent.
   */
  @FunctionalInterface
  public interface AnchorCheck {
    /** Only the batch that starts exactly at the anchor: repeated, stale and reordered batches are dropped. */
    AnchorCheck EXACT = (from, anchor) -> from == anchor;

    boolean accepts(long from, long anchor);
  }

  public NodeState() {
    this(AnchorCheck.EXACT);
  }

  public NodeState(AnchorCheck anchorCheck) {
    this.anchorCheck = anchorCheck;
  }
  /** How a node answers a move's pause (step 1, the checkpoint), decided here for the actor and the simulator alike. */
  public sealed interface PauseAnswer {}

  /** Not configured yet (just deployed, or restarting): the manager asks again. */
  public record NotRunningYet() implements PauseAnswer {}

  /** Already paused by this migration (a repeated ask): answer with the current sequence number. */
  public record AlreadyPaused() implements PauseAnswer {}

  /**
   * Paused by another migration: refuse. The manager rolls this move back if that migration still
   * runs, or clears its pause (a resume for it) if it has ended.
   */
  public record PausedByOther(String migrationId) implements PauseAnswer {}

  /**
   * This node was already resumed for that migration (the pause is late, sent by a manager that
   * since died): refuse without pausing, or the node would wait for a resume nobody sends.
   */
  public record MigrationOver(String migrationId) implements PauseAnswer {}

  /** Persist {@code event}, then answer with the sequence number it got (the checkpoint). */
  public record PersistPause(NodeEvent.Paused event) implements PauseAnswer {}

  public PauseAnswer pause(String migrationId) {
    if (!configured()) {
      return new NotRunningYet();
    }
    if (migrationId.equals(pausedBy)) {
      return new AlreadyPaused();
    }
    if (endedMigrations.contains(migrationId)) {
      return new MigrationOver(migrationId);
    }
    if (pausedBy != null) {
      return new PausedByOther(pausedBy);
    }
    return new PersistPause(new NodeEvent.Paused(migrationId));
  }

  /** How a node answers a move's resume (the restore step). */
  public sealed interface ResumeAnswer {}

  /** Runs somewhere other than where the manager placed it (the hand-off is not done): refuse. */
  public record RunsElsewhere() implements ResumeAnswer {}

  /**
   * Recovered to {@code seqNr}, behind the checkpoint: a journal replicated across sites may lag, so
   * refuse and stop, to recover again rather than resume from an older state.
   */
  public record BehindCheckpoint(long seqNr, long checkpointSeqNr) implements ResumeAnswer {
    public String reason() {
      return "recovery at " + seqNr + " is behind the checkpoint " + checkpointSeqNr;
    }
  }

  /** Resumed for this migration already (a repeated ask): answer resumed. */
  public record AlreadyResumed() implements ResumeAnswer {}

  /**
   * Persist {@code event}, then answer resumed (and start pulling again if it cleared the pause).
   * Also persisted for a migration that never paused this node, so that a pause for it arriving
   * later is refused.
   */
  public record PersistResume(NodeEvent.Resumed event) implements ResumeAnswer {}

  /**
   * @param here whether this instance runs where the manager expects it
   * @param seqNr the sequence number this instance has recovered to
   */
  public ResumeAnswer resume(String migrationId, boolean here, long seqNr, long checkpointSeqNr) {
    if (!here) {
      return new RunsElsewhere();
    }
    if (seqNr < checkpointSeqNr) {
      return new BehindCheckpoint(seqNr, checkpointSeqNr);
    }
    if (!migrationId.equals(pausedBy) && endedMigrations.contains(migrationId)) {
      return new AlreadyResumed();
    }
    return new PersistResume(new NodeEvent.Resumed(migrationId));
  }

  /** Where an instance of a keyed node stands, for a rescale: its input anchor and its operator's state there. */
  public record KeyedReport(long anchor, io.ferry.query.ops.OperatorState state) {}

  /** The report of an instance of a keyed node, or empty when this node is not one (or not running yet). */
  public Optional<KeyedReport> keyedReport() {
    if (!configured() || retired || !(spec.op() instanceof io.ferry.query.OperatorSpec.Keyed)) {
      return Optional.empty();
    }
    return Optional.of(new KeyedReport(inputAnchor(spec.inputs().get(0)), operator.snapshot()));
  }

  /** How an instance of a keyed node answers a rescale's regroup. */
  public sealed interface RegroupAnswer {}

  /** Applied already (a repeated ask): answer done. */
  public record AlreadyRegrouped() implements RegroupAnswer {}

  /** Not to be applied: not running yet (ask again) or not where the rescale cut ({@code retry} false). */
  public record RegroupRefused(String reason, boolean retry) implements RegroupAnswer {}

  /** Persist {@code event}, then answer done. */
  public record PersistRegroup(NodeEvent.Regrouped event) implements RegroupAnswer {}

  /**
   * A rescale gives this instance key groups {@code range} and their state at input anchor {@code
   * anchor}. Refused unless the instance stands exactly at that anchor: state cut elsewhere would
   * count the rows in between twice or never.
   */
  public RegroupAnswer regroup(String rescaleId, int firstGroup, int endGroup, long anchor, io.ferry.query.ops.OperatorState state) {
    if (!configured()) {
      return new RegroupRefused("node is not running yet", true);
    }
    if (endedMigrations.contains(rescaleId)) {
      return new AlreadyRegrouped();
    }
    if (retired || !(spec.op() instanceof io.ferry.query.OperatorSpec.Keyed)) {
      return new RegroupRefused(spec.id() + " is not a running instance of a keyed node", false);
    }
    long at = inputAnchor(spec.inputs().get(0));
    if (at != anchor) {
      return new RegroupRefused(spec.id() + " stands at input anchor " + at + ", the rescale cut at " + anchor, false);
    }
    return new PersistRegroup(new NodeEvent.Regrouped(rescaleId, firstGroup, endGroup, anchor, state));
  }

  /** True once a {@link Configured} event has been applied. */
  public boolean configured() {
    return spec != null;
  }

  public NodeSpec spec() {
    return spec;
  }

  public String deploymentId() {
    return deploymentId;
  }

  public boolean isSource() {
    return spec.op().isSource();
  }

  public long inputAnchor(NodeId upstream) {
    return inputAnchors.getOrDefault(upstream, 0L);
  }

  public Map<NodeId, Long> inputAnchors() {
    return Map.copyOf(inputAnchors);
  }

  public boolean inputDone(NodeId upstream) {
    return inputsDone.contains(upstream);
  }

  public long outputAnchor() {
    return log.end();
  }

  public long outputBase() {
    return log.base();
  }

  public boolean outputDone() {
    return outputDone;
  }

  /** The migration that paused this node, if one did and has not resumed it. */
  public Optional<String> pausedBy() {
    return Optional.ofNullable(pausedBy);
  }

  /** The migrations this node was resumed for, oldest first, at most {@link #ENDED_MIGRATIONS_MAX}. */
  public List<String> endedMigrations() {
    return List.copyOf(endedMigrations);
  }

  /** True once the node's query was undeployed. */
  public boolean retired() {
    return retired;
  }

  /** The upstreams this node still pulls from (none for a source). */
  public List<NodeId> openInputs() {
    List<NodeId> open = new ArrayList<>();
    for (NodeId in : spec.inputs()) {
      if (!inputsDone.contains(in)) {
        open.add(in);
      }
    }
    return open;
  }

  /** Who consumes this node's output: its downstream nodes, or the API reader of an in-cluster sink. */
  public List<String> consumers() {
    if (spec.op() instanceof io.ferry.query.OperatorSpec.Collect) {
      return List.of(READER);
    }
    List<String> c = new ArrayList<>();
    spec.outputs().forEach(o -> c.add(o.value()));
    return c;
  }

  /** Output rows not yet persisted by every consumer. */
  public long unacknowledged() {
    return log.retained();
  }

  /** The size of its state in entries: output rows it still holds for consumers plus its operator's entries. */
  public long stateEntries() {
    return log.retained() + (operator == null ? 0 : operator.stateEntries());
  }

  /**
   * Whether the node may take more input: it has not ended, and its retained output stays under
   * {@code retainMax} rows (back pressure from slow consumers).
   */
  public boolean wantsInput(long retainMax) {
    return configured() && !retired && pausedBy == null && !outputDone && log.retained() < retainMax;
  }

  /**
   * The event for a batch from {@code upstream}, or empty when the batch must be ignored: its
   * {@code from} is not this node's anchor (a stale, repeated or reordered reply), or it brings
   * nothing new.
   */
  public Optional<BatchProcessed> onBatch(NodeId upstream, long from, List<Row> rows, long next, boolean done) {
    return onBatch(upstream, from, rows, next, done, null, null);
  }

  /**
   * The slice of its input this node pulls ({@link KeySlice}): an instance of a keyed node reads
   * only its key groups' rows; null for every other node (it reads every row).
   */
  public KeySlice inputSlice() {
    return configured() && !retired ? KeySlice.of(spec.op()) : null;
  }

  /**
   * As {@link #onBatch(NodeId, long, List, long, boolean)} for a batch the upstream cut to {@code
   * slice} ({@code maxTimeLeftOut} as in {@link KeySlice.Cut}); null slice: every row. A batch cut
   * to another slice than this node's (a pull sent before a rescale regrouped it, answered after)
   * is ignored, and the node pulls again.
   */
  public Optional<BatchProcessed> onBatch(
      NodeId upstream, long from, List<Row> rows, long next, boolean done, KeySlice slice, long[] maxTimeLeftOut) {
    if (!configured() || retired || pausedBy != null || !spec.inputs().contains(upstream) || inputsDone.contains(upstream)) {
      return Optional.empty();
    }
    long anchor = inputAnchor(upstream);
    if (!anchorCheck.accepts(from, anchor)) {
      return Optional.empty();
    }
    if (slice != null) {
      return onSlicedBatch(upstream, from, rows, next, done, slice, maxTimeLeftOut);
    }
    if (next - from != rows.size()) {
      throw new IllegalStateException(
          "batch from " + upstream + " claims anchors " + from + ".." + next + " but holds " + rows.size() + " rows");
    }
    if (done) {
      if (!rows.isEmpty()) {
        throw new IllegalStateException("a final batch from " + upstream + " must be empty, got " + rows.size() + " rows");
      }
      boolean last = openInputs().size() == 1;
      Operator.Step step = last ? operator.finish() : operator.endInput(spec.inputs().indexOf(upstream));
      return Optional.of(new BatchProcessed(upstream, from, next, true, step.delta(), step.outputs(), last));
    }
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    Operator.Step step = operator.process(spec.inputs().indexOf(upstream), upstream, from, rows);
    return Optional.of(new BatchProcessed(upstream, from, next, false, step.delta(), step.outputs(), false));
  }

  private Optional<BatchProcessed> onSlicedBatch(
      NodeId upstream, long from, List<Row> rows, long next, boolean done, KeySlice slice, long[] maxTimeLeftOut) {
    if (!slice.equals(inputSlice()) || !(operator instanceof io.ferry.query.ops.WindowOperator window)) {
      return Optional.empty(); // cut for what this node was before a rescale: pulled again with its slice now
    }
    if (done || rows.size() > next - from || maxTimeLeftOut == null || maxTimeLeftOut.length != rows.size() + 1) {
      throw new IllegalStateException("a sliced batch from " + upstream + " spans anchors " + from + ".." + next + " with " + rows.size()
          + " rows and " + (maxTimeLeftOut == null ? "no" : maxTimeLeftOut.length) + " left-out times" + (done ? ", marked done" : ""));
    }
    if (next == from) {
      return Optional.empty();
    }
    // Even with no row of this slice, the batch moves the input anchor and maybe the watermark.
    Operator.Step step = window.process(rows, maxTimeLeftOut);
    return Optional.of(new BatchProcessed(upstream, from, next, false, step.delta(), step.outputs(), false));
  }

  /** The event for the next read of a source node, or empty when there is nothing new yet. */
  public Optional<BatchProcessed> readSource(int max) {
    if (!configured() || !isSource() || outputDone || pausedBy != null || max <= 0) {
      return Optional.empty();
    }
    long anchor = inputAnchor(spec.id());
    SourceReader.Read read = source.read(anchor, max);
    if (read.rows().isEmpty() && !read.end()) {
      return Optional.empty();
    }
    return Optional.of(
        new BatchProcessed(spec.id(), anchor, read.next(), read.end(), read.delta(), read.rows(), read.end()));
  }

  /** How an ingest source answers rows posted to it. */
  public sealed interface IngestAnswer {}

  /** Persist {@code event}, then acknowledge the rows as {@code [event.from(), event.next())}. */
  public record AcceptIngest(BatchProcessed event) implements IngestAnswer {}

  /** Not taken; {@code retry} when a later attempt may succeed (the node is moving or starting). */
  public record RefuseIngest(String reason, boolean retry) implements IngestAnswer {}

  /** Rows posted to an ingest source: one batch, all or nothing. */
  public IngestAnswer ingest(List<Row> rows) {
    if (!configured()) {
      return new RefuseIngest("the source is starting", true);
    }
    if (!(spec.op() instanceof io.ferry.query.OperatorSpec.Ingest in)) {
      return new RefuseIngest(spec.id() + " is not an ingest source", false);
    }
    if (retired || outputDone) {
      return new RefuseIngest("source " + in.source() + " has ended", false);
    }
    if (pausedBy != null) {
      return new RefuseIngest("source " + in.source() + " is moving (migration " + pausedBy + ")", true);
    }
    if (rows.isEmpty()) {
      return new RefuseIngest("no rows", false);
    }
    long anchor = inputAnchor(spec.id());
    long next = anchor + rows.size();
    if (in.count() >= 0 && next > in.count()) {
      return new RefuseIngest(
          "source " + in.source() + " takes " + (in.count() - anchor) + " more rows, the request has " + rows.size(), false);
    }
    boolean end = in.count() >= 0 && next == in.count();
    return new AcceptIngest(new BatchProcessed(spec.id(), anchor, next, end, null, List.copyOf(rows), end));
  }

  /** The live batch {@code b} is in the journal: tells the source, which may now acknowledge it outside. */
  public void persisted(BatchProcessed b) {
    if (source != null) {
      source.persisted(b.delta());
    }
  }

  /** Applies a persisted event, live or during recovery. */
  public void apply(NodeEvent event) {
    if (event instanceof Configured c) {
      configure(c.spec(), c.deploymentId());
    } else if (event instanceof NodeEvent.Paused p) {
      pausedBy = p.migrationId();
    } else if (event instanceof NodeEvent.Resumed r) {
      if (r.migrationId().equals(pausedBy)) {
        pausedBy = null;
      }
      rememberEnded(r.migrationId());
    } else if (event instanceof NodeEvent.Regrouped g) {
      applyRegroup(g);
    } else if (event instanceof NodeEvent.Retired r) {
      if (r.deploymentId().equals(deploymentId)) {
        retired = true;
        close();
      }
    } else if (event instanceof BatchProcessed b) {
      long anchor = inputAnchor(b.upstream());
      if (!anchorCheck.accepts(b.from(), anchor)) {
        throw new IllegalStateException(
            "event for " + b.upstream() + " starts at anchor " + b.from() + " but the node is at " + anchor);
      }
      inputAnchors.put(b.upstream(), b.next());
      if (b.upstreamDone()) {
        inputsDone.add(b.upstream());
      }
      if (operator != null) {
        operator.apply(b.delta());
      } else if (source != null) {
        source.apply(b.delta());
      }
      log.append(b.outputs());
      outputDone |= b.outputDone();
    }
  }

  private void applyRegroup(NodeEvent.Regrouped g) {
    if (!(spec.op() instanceof io.ferry.query.OperatorSpec.Keyed k)) {
      throw new IllegalStateException("rescale " + g.rescaleId() + " regroups " + spec.id() + ", which is not keyed");
    }
    long at = inputAnchor(spec.inputs().get(0));
    if (at != g.anchor()) {
      throw new IllegalStateException(
          "rescale " + g.rescaleId() + " cut " + spec.id() + " at anchor " + g.anchor() + " but the node is at " + at);
    }
    spec = new NodeSpec(spec.query(), spec.id(), new io.ferry.query.OperatorSpec.Keyed(k.of(), g.firstGroup(), g.endGroup()),
        spec.inputs(), spec.outputs(), spec.inputSchema(), spec.outputSchema(), spec.inputSchemas());
    operator.close();
    operator = Operators.create(spec, deploymentId);
    operator.restore(g.state());
    rememberEnded(g.rescaleId());
  }

  private void rememberEnded(String migrationId) {
    endedMigrations.remove(migrationId);
    endedMigrations.add(migrationId);
    while (endedMigrations.size() > ENDED_MIGRATIONS_MAX) {
      endedMigrations.remove(endedMigrations.iterator().next());
    }
  }

  private void configure(NodeSpec newSpec, String newDeployment) {
    close();
    spec = newSpec;
    deploymentId = newDeployment;
    inputAnchors.clear();
    inputsDone.clear();
    acks.clear();
    log = new OutputLog(0, List.of());
    outputDone = false;
    retired = false;
    pausedBy = null;
    if (newSpec.op().isSource()) {
      operator = null;
      source = Operators.source(newSpec, newDeployment);
    } else {
      source = null;
      operator = Operators.create(newSpec, newDeployment);
    }
  }

  /**
   * Serves a consumer's pull for rows after {@code after}: a batch when there is something to
   * send (rows, or the end of the stream), empty when the consumer must wait (long poll). The
   * pull's {@code after} is also the consumer's acknowledgement: it has persisted everything
   * before it, so the log may drop what every consumer has acknowledged.
   */
  /**
   * As {@link #serve(String, long, int)}, the rows cut to {@code slice} when it is not null and
   * this node's output has its fields (a pull from an instance of a keyed node).
   */
  public Optional<Served> serve(String consumer, long after, int max, KeySlice slice) {
    Optional<Served> served = serve(consumer, after, max);
    if (slice == null || served.isEmpty() || served.get().done() || served.get().gap()) {
      return served;
    }
    Served s = served.get();
    return Optional.of(slice.cut(s.rows(), spec.outputSchema())
        .map(c -> new Served(s.from(), c.rows(), s.next(), false, false, slice, c.maxTimeLeftOut()))
        .orElse(s));
  }

  public Optional<Served> serve(String consumer, long after, int max) {
    if (!configured() || retired || !consumers().contains(consumer)) {
      return Optional.empty();
    }
    if (after > log.end()) {
      throw new IllegalStateException(
          "consumer " + consumer + " asks after anchor " + after + " but " + spec.id() + " has output only " + log.end());
    }
    acknowledge(consumer, after);
    if (after < log.base()) {
      return Optional.of(new Served(after, List.of(), after, false, true));
    }
    if (after < log.end()) {
      List<Row> rows = log.slice(after, max);
      return Optional.of(new Served(after, rows, after + rows.size(), false, false));
    }
    return outputDone ? Optional.of(new Served(after, List.of(), after, true, false)) : Optional.empty();
  }

  private void acknowledge(String consumer, long after) {
    acks.merge(consumer, after, Math::max);
    long min = Long.MAX_VALUE;
    for (String c : consumers()) {
      min = Math.min(min, acks.getOrDefault(c, log.base()));
    }
    log.trimBelow(min);
  }

  /**
   * The highest anchor {@code consumer} has acknowledged. A pull below the log's base from a
   * consumer that has acknowledged at least the base is a stale, delayed or repeated pull, not a
   * loss: the consumer has persisted past it.
   */
  public long acknowledged(String consumer) {
    return acks.getOrDefault(consumer, 0L);
  }

  /** A reply to a pull. {@code gap} means the consumer asked below what the log still holds. */
  public record Served(long from, List<Row> rows, long next, boolean done, boolean gap, KeySlice slice, long[] maxTimeLeftOut) {
    /** Every row of {@code [from, next)}. */
    public Served(long from, List<Row> rows, long next, boolean done, boolean gap) {
      this(from, rows, next, done, gap, null, null);
    }
  }

  /** Called once recovery has replayed every event. */
  public void recovered() {
    if (operator != null) {
      operator.recovered();
    }
  }

  public void close() {
    if (operator != null) {
      operator.close();
    }
    if (source != null) {
      source.close();
    }
  }

  public NodeSnapshot snapshot() {
    Map<String, Long> anchors = new LinkedHashMap<>();
    inputAnchors.forEach((k, v) -> anchors.put(k.value(), v));
    List<String> done = inputsDone.stream().map(NodeId::value).sorted().toList();
    return new NodeSnapshot(
        spec, deploymentId, anchors, done, log.base(), log.retainedRows(), outputDone, retired, pausedBy,
        operator != null ? operator.snapshot() : source != null ? source.snapshot() : null, List.copyOf(endedMigrations));
  }

  public static NodeState fromSnapshot(NodeSnapshot s) {
    return fromSnapshot(s, AnchorCheck.EXACT);
  }

  public static NodeState fromSnapshot(NodeSnapshot s, AnchorCheck anchorCheck) {
    NodeState state = new NodeState(anchorCheck);
    if (s.endedMigrations() != null) {
      s.endedMigrations().forEach(state::rememberEnded);
    }
    if (s.spec() == null) {
      return state;
    }
    state.configure(s.spec(), s.deploymentId());
    s.inputAnchors().forEach((k, v) -> state.inputAnchors.put(new NodeId(k), v));
    s.inputsDone().forEach(k -> state.inputsDone.add(new NodeId(k)));
    state.log = new OutputLog(s.outputBase(), s.retained());
    state.outputDone = s.outputDone();
    state.retired = s.retired();
    state.pausedBy = s.pausedBy();
    if (state.operator != null) {
      state.operator.restore(s.operatorState());
    } else if (state.source != null) {
      state.source.restore(s.operatorState());
    }
    return state;
  }
}
