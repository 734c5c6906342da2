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
 * sent again. Issue 14 adds Converging (replicate changes until the dirty set is small), CutOver,
 * Paused, Aborted and Reversing: they slot in as further records of {@link Phase} with their own
 * {@link Phase#order()} (Converging 4, CutOver 5 after Copied; Paused keeps the order of the phase
 * it paused, so resuming is not a step back; Aborted and Reversing end the life like Failed), their
 * own events and inputs. They are not in the sealed set until they exist.
 */
public final class VolumeMigration {

  // ------------------------------------------------------------------ phases

  /** Where a volume's migration stands. A phase's successor never has a lower {@link #order()}. */
  public sealed interface Phase permits New, Attaching, Streaming, Copied, Stopped, Failed {
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

  /**
   * What one input leads to: events to persist, commands to execute (at once, except {@link
   * ReplyStopped}, which waits for the events), and, when the input did nothing, why ("" when it
   * was handled).
   */
  public record Decision(List<Event> events, List<Command> commands, String ignored) {
    public Decision {
      events = List.copyOf(events);
      commands = List.copyOf(commands);
    }

    static Decision ignore(String why) {
      return new Decision(List.of(), List.of(), why);
    }

    public boolean isIgnored() {
      return !ignored.isEmpty();
    }
  }

  // ------------------------------------------------------------------ the fold

  /** The phase after {@code event}; throws when the event does not fit (a journal out of order). */
  public static Phase apply(Phase phase, Event event) {
    Phase next = null;
    if (event instanceof Started e && phase instanceof New) {
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
    if (attachTimeout.isNegative() || attachTimeout.isZero() || progressInterval.isNegative() || progressInterval.isZero()) {
      throw new IllegalArgumentException("attach timeout and progress interval must be positive, got " + attachTimeout + " and " + progressInterval);
    }
    this.attachTimeout = attachTimeout;
    this.progressInterval = progressInterval;
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
    VolumeSpec current = spec(phase);
    return current.equals(s.spec())
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
    String changed;
    if (phase instanceof Streaming s) {
      changed = geometryChange(s.sizeBytes(), s.blockSizeBytes(), a);
    } else if (phase instanceof Copied c) {
      changed = geometryChange(c.sizeBytes(), c.blockSizeBytes(), a);
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
    if (!exported) {
      out.add(export(a.sizeBytes(), a.blockSizeBytes()));
    }
    out.add(new Confirm(a.attachId(), a.sizeBytes(), a.blockSizeBytes()));
    if (phase instanceof Copied || everyBlockPresent) {
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
    if (phase instanceof Streaming) {
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
    return Decision.ignore(phase instanceof Copied ? "already copied" : "no copy runs in phase " + phase.label());
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

  private static boolean live(Phase phase) {
    return phase instanceof Attaching || phase instanceof Streaming || phase instanceof Copied;
  }

  /** The site a live migration's target is at; empty before it started and after it ended. */
  public static Optional<Site> targetSite(Phase phase) {
    return live(phase) ? Optional.of(spec(phase).targetSite()) : Optional.empty();
  }

  private static VolumeSpec spec(Phase phase) {
    if (phase instanceof Attaching a) {
      return a.spec();
    } else if (phase instanceof Streaming s) {
      return s.spec();
    } else if (phase instanceof Copied c) {
      return c.spec();
    }
    throw new IllegalStateException("no spec in phase " + phase.label());
  }

  static long blockCount(long sizeBytes, int blockSizeBytes) {
    return io.ferry.blocks.plan.Geometry.blockCount(sizeBytes, blockSizeBytes);
  }
}
