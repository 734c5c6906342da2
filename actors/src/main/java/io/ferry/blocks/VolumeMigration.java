package io.ferry.blocks;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A volume migration's life as a pure process: phases folded from persisted events, inputs in,
 * commands out, time passed in. {@link BlockFrontend} hosts it (it journals the events and executes
 * the commands); the deterministic tests drive it alone. No actor, clock or randomness in here:
 * attachment ids and the current time arrive with the inputs.
 *
 * <p>The life as it really is (read from the code, issue 4): the {@code VolumeRegistry} singleton
 * accepts a volume (it journals the spec and, later, that it stopped), and on every tick asks the
 * {@link BlockAgent} of a live member of each site to ensure the volume's {@link BlockBackend} at
 * the source and its {@link BlockFrontend} at the target; the backend opens the source, scans it and
 * serves whoever attaches; it has no phases of its own. Everything with a phase happens at the
 * frontend, so the process lives there:
 *
 * <ol>
 *   <li>{@link New}: nothing recorded. {@link Start} records the spec ({@link Started}) and opens the
 *       frontend's volume, before the journal write, so the first byte does not wait for it.
 *   <li>{@link Attaching}: the registry names the backend ({@link BackendKnown}); the frontend sends
 *       the store's hashes once per backend, then an attachment with what it holds. With the source's
 *       size known from the agent it exports over NBD at once. The backend's answer
 *       ({@link AttachAcknowledged}) gives the geometry, recorded once ({@link Attached}).
 *   <li>{@link Streaming}: blocks arrive on demand and in the background; progress is recorded at
 *       most once per progress interval ({@link Progressed}). A background stall or an attachment
 *       left unanswered attaches again under a new id. A lost backend detaches; its replacement is
 *       attached like the first.
 *   <li>{@link Copied}: every block is present ({@link CopyCompleted}); the backend is told, on
 *       every later attachment too, so it sends nothing more in the background.
 *   <li>{@link Stopped} (the user stopped it: the export is released, blocks stay in the store) or
 *       {@link Failed} (the source's geometry changed under the copy).
 * </ol>
 *
 * <p>Which blocks are present is the store's, not the journal's (one event per block would double
 * the write path): a recovered frontend attaches with the store's bitmap, so no present block is
 * sent again.
 *
 * <p>The end of the life (issue 14; seed 001 claim 1, seed 002 §2.8.1):
 *
 * <ol>
 *   <li>{@link Converging}: after {@link Copied}, on a cut-over request ({@link CutOverRequested}),
 *       passes repeat ({@link StartPass}); the shell ships each pass's change set (the blocks the
 *       source lacks: under write-back, what the aggregator still holds) and reports its size
 *       ({@link PassDone}); a pass at or below the threshold cuts over.
 *   <li>{@link CutOver}: the target is the primary; the backend is released ({@link ReleaseBackend})
 *       and the source can be detached. The export goes on serving.
 *   <li>{@link Paused}: the transfers stop (the export keeps serving, on-demand reads still fetch);
 *       it keeps the order of the phase it paused, so resuming is not a step back.
 *   <li>{@link Aborting} → {@link Aborted}: the source stays primary; the export closes and every
 *       block written at the target that the source lacks is shipped first ({@link ShipChanges}),
 *       whatever the write policy, so nothing acknowledged is lost.
 *   <li>{@link Reversing} → {@link Reversed}: after a cut-over, back to the source, shipping only the
 *       blocks changed at the target.
 * </ol>
 *
 * <p>The write policy ({@link WritePolicy}) is part of the spec and changes while the volume runs
 * ({@link PolicyChanged}). A user's request that does not fit the phase is refused: the decision
 * records nothing and {@link Decision#refused()} says why, for the shell to answer with.
 */
public final class VolumeMigration {

  // ------------------------------------------------------------------ phases

  /** Where a volume's migration stands. A phase's successor never has a lower {@link #order()}. */
  public sealed interface Phase
      permits New, Attaching, Streaming, Copied, Converging, CutOver, Paused, Aborting, Aborted, Reversing, Reversed, Stopped, Failed {
    int order();

    /** The word status replies and {@code ferry volume status} show. */
    String label();
  }

  /** No migration recorded for this volume here. */
  public record New() implements Phase {
    public int order() {
      return 0;
    }

    public String label() {
      return "NEW";
    }
  }

  /** The spec is recorded; the source has not yet confirmed its geometry. */
  public record Attaching(VolumeSpec spec) implements Phase {
    public int order() {
      return 1;
    }

    public String label() {
      return "ATTACHING";
    }
  }

  /**
   * Blocks are copying; the source's geometry is recorded. Shown as COPYING, the word users have
   * seen since the first volume migrations.
   *
   * @param blocksPresent blocks present at the last recorded progress (a floor: the store may hold more)
   */
  public record Streaming(VolumeSpec spec, long sizeBytes, int blockSizeBytes, long blocksPresent) implements Phase {
    public Streaming {
      long count = VolumeMigration.blockCount(sizeBytes, blockSizeBytes);
      if (blocksPresent < 0 || blocksPresent > count) {
        throw new IllegalArgumentException("volume=" + spec.volume() + " progress " + blocksPresent + " outside 0.." + count + " blocks");
      }
    }

    public long blockCount() {
      return VolumeMigration.blockCount(sizeBytes, blockSizeBytes);
    }

    public int order() {
      return 2;
    }

    public String label() {
      return "COPYING";
    }
  }

  /** Every block is present at the target. */
  public record Copied(VolumeSpec spec, long sizeBytes, int blockSizeBytes) implements Phase {
    public int order() {
      return 3;
    }

    public String label() {
      return "COPIED";
    }
  }

  /**
   * Every block is present; passes ship the change set until it is at most the threshold.
   *
   * @param pass the pass under way (from 1)
   * @param lastChangedBlocks the change set the previous pass shipped, -1 before the first
   */
  public record Converging(VolumeSpec spec, long sizeBytes, int blockSizeBytes, int pass, long lastChangedBlocks) implements Phase {
    public Converging {
      if (pass < 1) {
        throw new IllegalArgumentException("volume=" + spec.volume() + " pass " + pass + ": passes count from 1");
      }
    }

    public int order() {
      return 4;
    }

    public String label() {
      return "CONVERGING";
    }
  }

  /** The target is the primary: the backend is released and the source can be detached. */
  public record CutOver(VolumeSpec spec, long sizeBytes, int blockSizeBytes) implements Phase {
    public int order() {
      return 5;
    }

    public String label() {
      return "CUT_OVER";
    }
  }

  /**
   * Transfers stopped on the user's request; {@code paused} is the phase they resume in (copying,
   * copied or converging). Its order is the paused phase's, so neither pausing nor resuming goes back.
   */
  public record Paused(Phase paused) implements Phase {
    public Paused {
      if (!(paused instanceof Streaming || paused instanceof Copied || paused instanceof Converging)) {
        throw new IllegalArgumentException("only a copying, copied or converging volume pauses, not " + paused);
      }
    }

    public int order() {
      return paused.order();
    }

    public String label() {
      return "PAUSED";
    }
  }

  /** Aborted by the user: the export is closed and the target's changes are shipped to the source. */
  public record Aborting(VolumeSpec spec) implements Phase {
    public int order() {
      return 6;
    }

    public String label() {
      return "ABORTING";
    }
  }

  /** The source is the primary again and holds every write acknowledged at the target. */
  public record Aborted(VolumeSpec spec) implements Phase {
    public int order() {
      return 7;
    }

    public String label() {
      return "ABORTED";
    }
  }

  /** Reversed after a cut-over: the export is closed and the blocks changed at the target go back. */
  public record Reversing(VolumeSpec spec, long sizeBytes, int blockSizeBytes) implements Phase {
    public int order() {
      return 6;
    }

    public String label() {
      return "REVERSING";
    }
  }

  /** The source is the primary again and equals the target as it was when reversed. */
  public record Reversed(VolumeSpec spec) implements Phase {
    public int order() {
      return 7;
    }

    public String label() {
      return "REVERSED";
    }
  }

  /** The migration ended on the user's request: nothing is served or fetched any more. */
  public record Stopped() implements Phase {
    public int order() {
      return 9;
    }

    public String label() {
      return "STOPPED";
    }
  }

  /** The migration cannot go on; the reason says why. Only a stop follows. */
  public record Failed(String reason) implements Phase {
    public Failed {
      Objects.requireNonNull(reason, "reason");
    }

    public int order() {
      return 8;
    }

    public String label() {
      return "FAILED";
    }
  }

  // ------------------------------------------------------------------ events (persisted facts)

  public sealed interface Event extends CborSerializable {}

  public record Started(VolumeSpec spec) implements Event {}

  /** The source answered an attachment for the first time with its geometry. */
  public record Attached(long sizeBytes, int blockSizeBytes) implements Event {}

  public record Progressed(long blocksPresent) implements Event {}

  public record CopyCompleted() implements Event {}

  public record MigrationFailed(String reason) implements Event {}

  public record MigrationStopped() implements Event {}

  public record PolicyChanged(WritePolicy policy) implements Event {}

  public record ConvergenceStarted() implements Event {}

  public record PassCompleted(int pass, long changedBlocks) implements Event {}

  public record CutOverCompleted() implements Event {}

  public record MigrationPaused() implements Event {}

  public record MigrationResumed() implements Event {}

  public record AbortStarted() implements Event {}

  public record AbortCompleted() implements Event {}

  public record ReverseStarted() implements Event {}

  public record ReverseCompleted() implements Event {}

  // ------------------------------------------------------------------ inputs

  public sealed interface Input {}

  /** Serve this volume (the agent repeats it on every registry tick). */
  public record Start(VolumeSpec spec) implements Input {}

  /** This incarnation of the frontend begins, in the phase its journal holds. */
  public record Recovered() implements Input {}

  /**
   * The volume's backend is (now) {@code backend}: its actor reference as text (path and uid), so a
   * backend restarted at the same path counts as a new one.
   *
   * @param sizeHintBytes the source's size as the backend's member saw it, or &lt;= 0 when unknown
   * @param attachId the id to attach under, should this input attach (non-zero)
   */
  public record BackendKnown(String backend, long sizeHintBytes, long attachId, long nowNanos) implements Input {}

  public record AttachAcknowledged(long attachId, long sizeBytes, int blockSizeBytes) implements Input {}

  /**
   * The frontend's timer. {@code blocksPresent} is what the store holds now; {@code backgroundStalled}
   * says credits are out and no background block arrived within the stall timeout; {@code attachId}
   * is the id to attach under, should the tick attach again.
   */
  public record Tick(long nowNanos, long blocksPresent, boolean backgroundStalled, long attachId) implements Input {}

  public record EveryBlockPresent() implements Input {}

  /** The backend's actor terminated (its member crashed, or it was stopped). */
  public record BackendLost() implements Input {}

  public record StopRequested() implements Input {}

  /** The user (or the settings, for every volume) changes where the target's writes persist. */
  public record ChangePolicy(WritePolicy policy) implements Input {}

  /** Converge and cut over once the change set is small (the user's {@code cutover}). */
  public record CutOverRequested() implements Input {}

  /** The shell shipped pass {@code pass}'s change set of {@code changedBlocks} blocks. */
  public record PassDone(int pass, long changedBlocks) implements Input {}

  public record PauseRequested() implements Input {}

  public record ResumeRequested() implements Input {}

  public record AbortRequested() implements Input {}

  public record ReverseRequested() implements Input {}

  /** Every block an abort or a reverse had to ship is durable at the source. */
  public record ChangesShipped() implements Input {}

  // ------------------------------------------------------------------ commands

  public sealed interface Command {}

  /** Open the frontend's volume: take frames for it, start the timer. */
  public record Open() implements Command {}

  /** Set the volume's geometry and export it over NBD. */
  public record Export(long sizeBytes, int blockSizeBytes) implements Command {}

  /** Why an attachment is sent; the shell logs the unusual ones. */
  public enum AttachReason {
    FIRST,
    NEW_BACKEND,
    STALLED,
    UNANSWERED
  }

  /**
   * Attach to the current backend under {@code attachId}: first the store's hashes when {@code
   * sendHashes} (once per backend), then the attachment with the present bitmap.
   */
  public record Attach(long attachId, boolean sendHashes, AttachReason reason) implements Command {}

  /** The backend answered {@code attachId}: fetches and credits go under it from now on. */
  public record Confirm(long attachId, long sizeBytes, int blockSizeBytes) implements Command {}

  /** Tell the backend every block is present: nothing more to send in the background. */
  public record TellBackendComplete(long attachId) implements Command {}

  /** Stop sending fetches and credits: the backend is gone. */
  public record Detach() implements Command {}

  /** Close the volume: no export, no frames taken; blocks stay in the store. */
  public record Release() implements Command {}

  /** Log the copy's progress (every progress interval while copying, advanced or not). */
  public record LogProgress() implements Command {}

  /** Answer the stop request; run once the decision's events are durable. */
  public record ReplyStopped() implements Command {}

  /** Persist the target's writes under {@code policy} from now on (write-back ships them). */
  public record ApplyPolicy(WritePolicy policy) implements Command {}

  /**
   * Ship the current change set to the source as pass {@code pass}, then report {@link PassDone}.
   * {@code holdWrites}: the passes stopped shrinking, so this one holds the acknowledgement of new
   * writes until it is shipped (write-blocking, which always converges); the shell reports it.
   */
  public record StartPass(int pass, boolean holdWrites) implements Command {}

  /** Tell the backend the source is no longer needed: it closes it; the source can be detached. */
  public record ReleaseBackend() implements Command {}

  /** Stop the background copy, passes and write-back shipping; the export keeps serving. */
  public record PauseTransfers() implements Command {}

  public record ResumeTransfers() implements Command {}

  /** Why changes are shipped back. */
  public enum ShipReason {
    ABORT,
    REVERSE
  }

  /**
   * Ship every block written at the target that the source lacks (the write-back backlog, and under
   * target-only every block written), then report {@link ChangesShipped}. Sent again after a restart.
   */
  public record ShipChanges(ShipReason reason) implements Command {}

  /**
   * What one input leads to: events to persist, commands to execute (at once, except {@link
   * ReplyStopped}, which waits for the events), and, when the input did nothing, why ("" when it
   * was handled). {@code refused} marks a user's request the phase does not allow (the shell
   * answers it as an error); other ignored inputs are harmless repeats.
   */
  public record Decision(List<Event> events, List<Command> commands, String ignored, boolean refused) {
    public Decision {
      events = List.copyOf(events);
      commands = List.copyOf(commands);
    }

    public Decision(List<Event> events, List<Command> commands, String ignored) {
      this(events, commands, ignored, false);
    }

    static Decision ignore(String why) {
      return new Decision(List.of(), List.of(), why);
    }

    static Decision refuse(String why) {
      return new Decision(List.of(), List.of(), why, true);
    }

    public boolean isIgnored() {
      return !ignored.isEmpty();
    }
  }

  // ------------------------------------------------------------------ the fold

  /** The phase after {@code event}; throws when the event does not fit (a journal out of order). */
  public static Phase apply(Phase phase, Event event) {
    Phase next = null;
    if (phase instanceof Paused p && (event instanceof Progressed || event instanceof CopyCompleted || event instanceof PolicyChanged)) {
      // What goes on while paused (on-demand reads completing the copy, a policy change) changes
      // the phase that resumes.
      next = new Paused(apply(p.paused(), event));
    } else if (event instanceof Started e && phase instanceof New) {
      next = new Attaching(e.spec());
    } else if (event instanceof Attached e && phase instanceof Attaching a) {
      next = new Streaming(a.spec(), e.sizeBytes(), e.blockSizeBytes(), 0);
    } else if (event instanceof Progressed e && phase instanceof Streaming s && e.blocksPresent() >= s.blocksPresent()) {
      next = new Streaming(s.spec(), s.sizeBytes(), s.blockSizeBytes(), e.blocksPresent());
    } else if (event instanceof CopyCompleted && phase instanceof Streaming s) {
      next = new Copied(s.spec(), s.sizeBytes(), s.blockSizeBytes());
    } else if (event instanceof MigrationFailed e && live(phase)) {
      next = new Failed(e.reason());
    } else if (event instanceof MigrationStopped) {
      next = new Stopped();
    } else if (event instanceof PolicyChanged e && policyChangeable(phase)) {
      next = withSpec(phase, spec(phase).withWritePolicy(e.policy()));
    } else if (event instanceof ConvergenceStarted && phase instanceof Copied c) {
      next = new Converging(c.spec(), c.sizeBytes(), c.blockSizeBytes(), 1, -1);
    } else if (event instanceof PassCompleted e && phase instanceof Converging c && e.pass() == c.pass()) {
      next = new Converging(c.spec(), c.sizeBytes(), c.blockSizeBytes(), c.pass() + 1, e.changedBlocks());
    } else if (event instanceof CutOverCompleted && phase instanceof Converging c) {
      next = new CutOver(c.spec(), c.sizeBytes(), c.blockSizeBytes());
    } else if (event instanceof MigrationPaused && pausable(phase)) {
      next = new Paused(phase);
    } else if (event instanceof MigrationResumed && phase instanceof Paused p) {
      next = p.paused();
    } else if (event instanceof AbortStarted && abortable(phase)) {
      next = new Aborting(spec(phase));
    } else if (event instanceof AbortCompleted && phase instanceof Aborting a) {
      next = new Aborted(a.spec());
    } else if (event instanceof ReverseStarted && phase instanceof CutOver c) {
      next = new Reversing(c.spec(), c.sizeBytes(), c.blockSizeBytes());
    } else if (event instanceof ReverseCompleted && phase instanceof Reversing r) {
      next = new Reversed(r.spec());
    }
    if (next == null) {
      throw new IllegalStateException("event " + event + " does not follow phase " + phase + ": the journal is out of order");
    }
    checkForward(phase, next, event);
    return next;
  }

  /**
   * The invariant every transition keeps, checked apart from the rules above so that a rule added
   * later (issue 14's phases) cannot take a migration back, say from cut-over to copying.
   */
  static void checkForward(Phase from, Phase to, Event on) {
    if (to.order() < from.order()) {
      throw new IllegalStateException("phase went backwards: " + from.label() + " -> " + to.label() + " on " + on);
    }
  }

  /** The phase after a whole journal, from {@link New}. */
  public static Phase replay(List<? extends Event> events) {
    Phase p = new New();
    for (Event e : events) {
      p = apply(p, e);
    }
    return p;
  }

  // ------------------------------------------------------------------ this incarnation's link

  private final Duration attachTimeout;
  private final Duration progressInterval;
  private final long cutOverThresholdBlocks;

  // Not persisted: they describe this incarnation's link to the backend, rebuilt on every start.
  private String backend;
  private String hashesSentTo;
  private long attachId;
  private boolean awaitingAck;
  private long attachSentNanos;
  private boolean exported;
  private long exportedSize = -1;
  private boolean everyBlockPresent;
  private boolean progressLogged;
  private long progressLoggedNanos;

  /**
   * @param attachTimeout an attachment not answered within this is sent again under a new id
   * @param progressInterval progress is logged and recorded at most this often
   */
  public VolumeMigration(Duration attachTimeout, Duration progressInterval) {
    this(attachTimeout, progressInterval, DEFAULT_CUT_OVER_THRESHOLD_BLOCKS);
  }

  /** A pass whose change set is at most this many blocks cuts over (64 of 64 KiB: 4 MiB). */
  public static final long DEFAULT_CUT_OVER_THRESHOLD_BLOCKS = 64;

  /**
   * @param cutOverThresholdBlocks a converging pass that shipped at most this many blocks cuts over
   */
  public VolumeMigration(Duration attachTimeout, Duration progressInterval, long cutOverThresholdBlocks) {
    if (attachTimeout.isNegative() || attachTimeout.isZero() || progressInterval.isNegative() || progressInterval.isZero()) {
      throw new IllegalArgumentException("attach timeout and progress interval must be positive, got " + attachTimeout + " and " + progressInterval);
    }
    if (cutOverThresholdBlocks < 0) {
      throw new IllegalArgumentException("the cut-over threshold is a number of blocks, got " + cutOverThresholdBlocks);
    }
    this.attachTimeout = attachTimeout;
    this.progressInterval = progressInterval;
    this.cutOverThresholdBlocks = cutOverThresholdBlocks;
  }

  /** The attachment fetches and credits go under (0 before the first). */
  public long attachId() {
    return attachId;
  }

  /**
   * Decides what {@code input} leads to in {@code phase} (the fold of the journal so far). Updates
   * only this incarnation's link; the phase changes when the shell applies the decision's events.
   */
  public Decision decide(Phase phase, Input input) {
    if (input instanceof Start s) {
      return start(phase, s);
    } else if (input instanceof Recovered) {
      return recovered(phase);
    } else if (input instanceof BackendKnown b) {
      return backendKnown(phase, b);
    } else if (input instanceof AttachAcknowledged a) {
      return acknowledged(phase, a);
    } else if (input instanceof Tick t) {
      return tick(phase, t);
    } else if (input instanceof EveryBlockPresent) {
      return everyBlockPresent(phase);
    } else if (input instanceof BackendLost) {
      return backendLost(phase);
    } else if (input instanceof StopRequested) {
      return stop(phase);
    } else if (input instanceof ChangePolicy c) {
      return changePolicy(phase, c);
    } else if (input instanceof CutOverRequested) {
      return cutOverRequested(phase);
    } else if (input instanceof PassDone p) {
      return passDone(phase, p);
    } else if (input instanceof PauseRequested) {
      return pause(phase);
    } else if (input instanceof ResumeRequested) {
      return resume(phase);
    } else if (input instanceof AbortRequested) {
      return abort(phase);
    } else if (input instanceof ReverseRequested) {
      return reverse(phase);
    } else if (input instanceof ChangesShipped) {
      return changesShipped(phase);
    }
    throw new IllegalArgumentException("unknown input " + input);
  }

  private Decision start(Phase phase, Start s) {
    if (phase instanceof New) {
      return new Decision(List.of(new Started(s.spec())), List.of(new Open()), "");
    }
    if (phase instanceof Stopped) {
      return Decision.ignore("volume " + s.spec().volume() + " was stopped; a stopped migration does not start again");
    }
    if (phase instanceof Failed f) {
      return Decision.ignore("volume " + s.spec().volume() + " failed (" + f.reason() + "); stop it and start it under a new volume id");
    }
    if (phase instanceof Aborted || phase instanceof Reversed) {
      return Decision.ignore("volume " + s.spec().volume() + " was " + phase.label().toLowerCase(java.util.Locale.ROOT)
          + ": the source is the primary again; a new migration needs a new volume id");
    }
    // The policy may have changed since the start: the registry's spec still has the first one.
    VolumeSpec current = spec(phase);
    return current.equals(s.spec().withWritePolicy(current.writePolicy()))
        ? Decision.ignore("already started")
        : Decision.ignore("volume " + current.volume() + " is migrating " + current + "; a different spec is refused: " + s.spec());
  }

  private Decision recovered(Phase phase) {
    if (phase instanceof Attaching) {
      return new Decision(List.of(), List.of(new Open()), "");
    }
    if (phase instanceof Streaming s) {
      // The geometry is recorded: serve what the store holds before the backend answers.
      return new Decision(List.of(), List.of(new Open(), export(s.sizeBytes(), s.blockSizeBytes())), "");
    }
    if (phase instanceof Copied c) {
      return new Decision(List.of(), List.of(new Open(), export(c.sizeBytes(), c.blockSizeBytes())), "");
    }
    if (phase instanceof Converging c) {
      return new Decision(List.of(), List.of(new Open(), export(c.sizeBytes(), c.blockSizeBytes()), new StartPass(c.pass(), false)), "");
    }
    if (phase instanceof Paused p) {
      long[] g = geometry(p.paused());
      return new Decision(List.of(), List.of(new Open(), export(g[0], (int) g[1]), new PauseTransfers()), "");
    }
    if (phase instanceof CutOver c) {
      return new Decision(List.of(), List.of(new Open(), export(c.sizeBytes(), c.blockSizeBytes())), "");
    }
    if (phase instanceof Aborting) {
      return new Decision(List.of(), List.of(new Open(), new ShipChanges(ShipReason.ABORT)), "");
    }
    if (phase instanceof Reversing) {
      return new Decision(List.of(), List.of(new Open(), new ShipChanges(ShipReason.REVERSE)), "");
    }
    return Decision.ignore(phase instanceof Failed f ? "failed: " + f.reason() : "nothing to resume in phase " + phase.label());
  }

  private Decision backendKnown(Phase phase, BackendKnown b) {
    if (!live(phase)) {
      return Decision.ignore("no backend is used in phase " + phase.label());
    }
    if (b.attachId() == 0) {
      throw new IllegalArgumentException("attach id 0 means 'none'; the shell must draw a non-zero one");
    }
    if (b.backend().equals(backend) && (awaitingAck || attachId != 0)) {
      return Decision.ignore("already " + (awaitingAck ? "attaching" : "attached") + " to " + backend);
    }
    List<Command> out = new ArrayList<>();
    if (phase instanceof Attaching a && b.sizeHintBytes() > 0 && !exported) {
      // The agent's view of the source's size: export now, the backend's answer confirms it.
      out.add(export(b.sizeHintBytes(), a.spec().blockSizeBytes()));
    }
    AttachReason reason = backend == null && attachId == 0 ? AttachReason.FIRST : AttachReason.NEW_BACKEND;
    backend = b.backend();
    out.add(attach(b.attachId(), b.nowNanos(), reason));
    return new Decision(List.of(), out, "");
  }

  private Decision acknowledged(Phase phase, AttachAcknowledged a) {
    if (!live(phase)) {
      return Decision.ignore("no attachment in phase " + phase.label());
    }
    if (!awaitingAck || a.attachId() != attachId) {
      return Decision.ignore("answer to attachment " + a.attachId() + ", not the one awaited (" + (awaitingAck ? attachId : "none") + ")");
    }
    awaitingAck = false;
    List<Event> events = new ArrayList<>();
    List<Command> out = new ArrayList<>();
    Phase inner = phase instanceof Paused p ? p.paused() : phase;
    long[] recorded = geometry(inner);
    String changed;
    if (recorded != null) {
      changed = geometryChange(recorded[0], (int) recorded[1], a);
    } else if (exported && exportedSize != a.sizeBytes()) {
      changed = "the source is " + a.sizeBytes() + " bytes, not the " + exportedSize + " its member reported when the export opened";
    } else if (spec(phase).blockSizeBytes() != a.blockSizeBytes()) {
      changed = "the source answered blocks of " + a.blockSizeBytes() + " bytes, the spec asks " + spec(phase).blockSizeBytes();
    } else {
      changed = "";
    }
    if (!changed.isEmpty()) {
      backend = null;
      return new Decision(List.of(new MigrationFailed("volume " + spec(phase).volume() + ": " + changed)), List.of(new Release()), "");
    }
    if (phase instanceof Attaching) {
      events.add(new Attached(a.sizeBytes(), a.blockSizeBytes()));
      if (everyBlockPresent) {
        events.add(new CopyCompleted());
      }
    }
    if (!exported && !(phase instanceof Aborting || phase instanceof Reversing)) {
      out.add(export(a.sizeBytes(), a.blockSizeBytes()));
    }
    out.add(new Confirm(a.attachId(), a.sizeBytes(), a.blockSizeBytes()));
    // Past copying (or ending) nothing more comes in the background. Copied only once this
    // frontend's store holds every block: one recovered on another member of the target site has
    // a store of its own, which may lack what the first one held, and the backend must send it.
    if (!(inner instanceof Attaching || inner instanceof Streaming || inner instanceof Copied) || everyBlockPresent) {
      out.add(new TellBackendComplete(a.attachId()));
    }
    return new Decision(events, out, "");
  }

  private static String geometryChange(long sizeBytes, int blockSizeBytes, AttachAcknowledged a) {
    return sizeBytes == a.sizeBytes() && blockSizeBytes == a.blockSizeBytes()
        ? ""
        : "the source's geometry changed under the copy: " + sizeBytes + "/" + blockSizeBytes + " -> " + a.sizeBytes() + "/" + a.blockSizeBytes();
  }

  private Decision tick(Phase phase, Tick t) {
    if (!live(phase)) {
      return Decision.ignore("nothing runs in phase " + phase.label());
    }
    List<Event> events = new ArrayList<>();
    List<Command> out = new ArrayList<>();
    if (backend != null && awaitingAck && t.nowNanos() - attachSentNanos > attachTimeout.toNanos()) {
      out.add(attach(t.attachId(), t.nowNanos(), AttachReason.UNANSWERED));
    } else if (backend != null && !awaitingAck && t.backgroundStalled() && phase instanceof Streaming && !everyBlockPresent) {
      // The backend requeues what it handed out when it sees a new attachment.
      out.add(attach(t.attachId(), t.nowNanos(), AttachReason.STALLED));
    }
    if (phase instanceof Streaming s && !everyBlockPresent && (!progressLogged || t.nowNanos() - progressLoggedNanos >= progressInterval.toNanos())) {
      progressLogged = true;
      progressLoggedNanos = t.nowNanos();
      out.add(new LogProgress());
      if (t.blocksPresent() > s.blocksPresent() && t.blocksPresent() <= s.blockCount()) {
        events.add(new Progressed(t.blocksPresent()));
      }
    }
    return events.isEmpty() && out.isEmpty() ? Decision.ignore("nothing due") : new Decision(events, out, "");
  }

  private Decision everyBlockPresent(Phase phase) {
    if (phase instanceof Streaming || phase instanceof Paused p && p.paused() instanceof Streaming) {
      everyBlockPresent = true;
      // While an attachment awaits its answer, the answer tells the backend.
      List<Command> out = attachId != 0 && !awaitingAck && backend != null ? List.of(new TellBackendComplete(attachId)) : List.of();
      return new Decision(List.of(new CopyCompleted()), out, "");
    }
    if (phase instanceof Attaching) {
      // Possible when the export opened on the agent's size and the store held every block
      // already: recorded with the geometry once the backend confirms it.
      everyBlockPresent = true;
      return Decision.ignore("every block present before the source confirmed its geometry; recorded with its answer");
    }
    if ((phase instanceof Copied || phase instanceof Paused p && p.paused() instanceof Copied) && !everyBlockPresent) {
      // Recorded already; this store holds it all now, so the backend may stop (an attachment
      // awaiting its answer tells it with the answer).
      everyBlockPresent = true;
      return attachId != 0 && !awaitingAck && backend != null ? new Decision(List.of(), List.of(new TellBackendComplete(attachId)), "") : Decision.ignore("already copied");
    }
    return Decision.ignore(phase.order() >= 3 && live(phase) ? "already copied" : "no copy runs in phase " + phase.label());
  }

  private Decision changePolicy(Phase phase, ChangePolicy c) {
    if (!policyChangeable(phase)) {
      return Decision.refuse(phase instanceof CutOver
          ? "volume " + spec(phase).volume() + " is cut over: the target is the primary and the source takes no more writes"
          : "no write policy to change in phase " + phase.label());
    }
    if (spec(phase).writePolicy() == c.policy()) {
      return Decision.ignore("already " + c.policy().word());
    }
    return new Decision(List.of(new PolicyChanged(c.policy())), List.of(new ApplyPolicy(c.policy())), "");
  }

  private Decision cutOverRequested(Phase phase) {
    if (phase instanceof Copied) {
      return new Decision(List.of(new ConvergenceStarted()), List.of(new StartPass(1, false)), "");
    }
    if (phase instanceof Converging || phase instanceof CutOver) {
      return Decision.ignore(phase instanceof CutOver ? "already cut over" : "already converging");
    }
    if (phase instanceof Streaming s) {
      return Decision.refuse("volume " + s.spec().volume() + " is still copying (" + s.blocksPresent() + " of " + s.blockCount()
          + " blocks recorded present); it can cut over once every block is at the target");
    }
    if (phase instanceof Paused) {
      return Decision.refuse("the volume is paused: resume it before cutting over");
    }
    return Decision.refuse("cannot cut over in phase " + phase.label() + "; a volume cuts over from COPIED");
  }

  private Decision passDone(Phase phase, PassDone p) {
    if (!(phase instanceof Converging c)) {
      return Decision.ignore("no pass runs in phase " + phase.label());
    }
    if (p.pass() != c.pass() || p.changedBlocks() < 0) {
      return Decision.ignore("report of pass " + p.pass() + " (" + p.changedBlocks() + " blocks); pass " + c.pass() + " is under way");
    }
    if (p.changedBlocks() <= cutOverThresholdBlocks) {
      backend = null;
      awaitingAck = false;
      return new Decision(List.of(new PassCompleted(p.pass(), p.changedBlocks()), new CutOverCompleted()), List.of(new ReleaseBackend()), "");
    }
    // Passes that stop shrinking (writes faster than the link) would never converge: the next pass
    // holds the writes' acknowledgements until it is shipped, which always converges.
    boolean hold = c.lastChangedBlocks() >= 0 && p.changedBlocks() >= c.lastChangedBlocks();
    return new Decision(List.of(new PassCompleted(p.pass(), p.changedBlocks())), List.of(new StartPass(p.pass() + 1, hold)), "");
  }

  private Decision pause(Phase phase) {
    if (phase instanceof Paused) {
      return Decision.ignore("already paused");
    }
    if (!pausable(phase)) {
      return Decision.refuse("only a copying, copied or converging volume pauses; this one is " + phase.label());
    }
    return new Decision(List.of(new MigrationPaused()), List.of(new PauseTransfers()), "");
  }

  private Decision resume(Phase phase) {
    if (!(phase instanceof Paused p)) {
      return Decision.refuse("the volume is " + phase.label() + ", not paused");
    }
    List<Command> out = new ArrayList<>(List.of(new ResumeTransfers()));
    if (p.paused() instanceof Converging c) {
      out.add(new StartPass(c.pass(), false)); // the pass the pause interrupted
    }
    return new Decision(List.of(new MigrationResumed()), out, "");
  }

  private Decision abort(Phase phase) {
    if (phase instanceof Aborting || phase instanceof Aborted) {
      return Decision.ignore(phase instanceof Aborted ? "already aborted" : "already aborting");
    }
    if (phase instanceof CutOver || phase instanceof Reversing || phase instanceof Reversed) {
      return Decision.refuse("the volume is " + phase.label() + ": the target is (or was) the primary; reverse moves it back to the source");
    }
    if (!abortable(phase)) {
      return Decision.refuse("nothing to abort in phase " + phase.label());
    }
    return new Decision(List.of(new AbortStarted()), List.of(new Release(), new ShipChanges(ShipReason.ABORT)), "");
  }

  private Decision reverse(Phase phase) {
    if (phase instanceof Reversing || phase instanceof Reversed) {
      return Decision.ignore(phase instanceof Reversed ? "already reversed" : "already reversing");
    }
    if (phase instanceof CutOver) {
      return new Decision(List.of(new ReverseStarted()), List.of(new Release(), new ShipChanges(ShipReason.REVERSE)), "");
    }
    if (abortable(phase)) {
      return Decision.refuse("the volume is " + phase.label() + ": the source is still the primary; abort keeps it so and ships the target's writes back");
    }
    return Decision.refuse("nothing to reverse in phase " + phase.label() + "; a volume reverses after its cut-over");
  }

  private Decision changesShipped(Phase phase) {
    if (phase instanceof Aborting) {
      backend = null;
      awaitingAck = false;
      return new Decision(List.of(new AbortCompleted()), List.of(new ReleaseBackend()), "");
    }
    if (phase instanceof Reversing) {
      backend = null;
      awaitingAck = false;
      return new Decision(List.of(new ReverseCompleted()), List.of(new ReleaseBackend()), "");
    }
    return Decision.ignore("nothing is being shipped back in phase " + phase.label());
  }

  private Decision backendLost(Phase phase) {
    if (!live(phase) || backend == null) {
      return Decision.ignore("no backend to lose");
    }
    backend = null;
    awaitingAck = false;
    return new Decision(List.of(), List.of(new Detach()), "");
  }

  private Decision stop(Phase phase) {
    if (phase instanceof Stopped) {
      return new Decision(List.of(), List.of(new ReplyStopped()), "");
    }
    backend = null;
    awaitingAck = false;
    return new Decision(List.of(new MigrationStopped()), List.of(new Release(), new ReplyStopped()), "");
  }

  private Attach attach(long id, long nowNanos, AttachReason reason) {
    if (id == 0) {
      throw new IllegalArgumentException("attach id 0 means 'none'; the shell must draw a non-zero one");
    }
    boolean hashes = !backend.equals(hashesSentTo);
    hashesSentTo = backend;
    attachId = id;
    awaitingAck = true;
    attachSentNanos = nowNanos;
    return new Attach(id, hashes, reason);
  }

  private Export export(long sizeBytes, int blockSizeBytes) {
    exported = true;
    exportedSize = sizeBytes;
    return new Export(sizeBytes, blockSizeBytes);
  }

  /** Phases that use a backend: copying, converging, and shipping the target's changes back. */
  private static boolean live(Phase phase) {
    return phase instanceof Attaching || phase instanceof Streaming || phase instanceof Copied || phase instanceof Converging
        || phase instanceof Paused || phase instanceof Aborting || phase instanceof Reversing;
  }

  private static boolean pausable(Phase phase) {
    return phase instanceof Streaming || phase instanceof Copied || phase instanceof Converging;
  }

  /** Before the cut-over the source is the primary, so an abort keeps it so. */
  private static boolean abortable(Phase phase) {
    return phase instanceof Attaching || pausable(phase) || phase instanceof Paused;
  }

  private static boolean policyChangeable(Phase phase) {
    return abortable(phase);
  }

  /** Whether the source can be detached: the target is the primary and the backend is released. */
  public static boolean sourceDetachable(Phase phase) {
    return phase instanceof CutOver;
  }

  /** The site a live migration's target is at; empty before it started and after it ended. */
  public static Optional<Site> targetSite(Phase phase) {
    return live(phase) || phase instanceof CutOver ? Optional.of(spec(phase).targetSite()) : Optional.empty();
  }

  /** The write policy in force, or last in force once aborted or reversed (target-only before a start). */
  public static WritePolicy writePolicy(Phase phase) {
    return live(phase) || phase instanceof CutOver || phase instanceof Aborted || phase instanceof Reversed ? spec(phase).writePolicy() : WritePolicy.TARGET_ONLY;
  }

  private static VolumeSpec spec(Phase phase) {
    if (phase instanceof Attaching a) {
      return a.spec();
    } else if (phase instanceof Streaming s) {
      return s.spec();
    } else if (phase instanceof Copied c) {
      return c.spec();
    } else if (phase instanceof Converging c) {
      return c.spec();
    } else if (phase instanceof CutOver c) {
      return c.spec();
    } else if (phase instanceof Paused p) {
      return spec(p.paused());
    } else if (phase instanceof Aborting a) {
      return a.spec();
    } else if (phase instanceof Aborted a) {
      return a.spec();
    } else if (phase instanceof Reversing r) {
      return r.spec();
    } else if (phase instanceof Reversed r) {
      return r.spec();
    }
    throw new IllegalStateException("no spec in phase " + phase.label());
  }

  private static Phase withSpec(Phase phase, VolumeSpec spec) {
    if (phase instanceof Attaching) {
      return new Attaching(spec);
    } else if (phase instanceof Streaming s) {
      return new Streaming(spec, s.sizeBytes(), s.blockSizeBytes(), s.blocksPresent());
    } else if (phase instanceof Copied c) {
      return new Copied(spec, c.sizeBytes(), c.blockSizeBytes());
    } else if (phase instanceof Converging c) {
      return new Converging(spec, c.sizeBytes(), c.blockSizeBytes(), c.pass(), c.lastChangedBlocks());
    }
    throw new IllegalStateException("the spec does not change in phase " + phase.label());
  }

  /** {size, block size} as recorded, or null before the source answered (and once only the spec is kept). */
  private static long[] geometry(Phase phase) {
    if (phase instanceof Streaming s) {
      return new long[] {s.sizeBytes(), s.blockSizeBytes()};
    } else if (phase instanceof Copied c) {
      return new long[] {c.sizeBytes(), c.blockSizeBytes()};
    } else if (phase instanceof Converging c) {
      return new long[] {c.sizeBytes(), c.blockSizeBytes()};
    } else if (phase instanceof CutOver c) {
      return new long[] {c.sizeBytes(), c.blockSizeBytes()};
    } else if (phase instanceof Reversing r) {
      return new long[] {r.sizeBytes(), r.blockSizeBytes()};
    } else if (phase instanceof Paused p) {
      return geometry(p.paused());
    }
    return null;
  }

  static long blockCount(long sizeBytes, int blockSizeBytes) {
    return io.ferry.blocks.plan.Geometry.blockCount(sizeBytes, blockSizeBytes);
  }
}
