package io.ferry.blocks;

import io.ferry.blocks.precopy.PreCopyLife;
import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;
import io.ferry.query.node.NodeLifecycle;
import io.ferry.transport.frame.SealedFrame;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The persistent frontend of one volume at its target site, and the host of the volume's {@link
 * VolumeMigration} process: a thin shell that feeds the process its inputs (the agent's start, the
 * registry's word on the backend, the backend's answers, its timer, its own recovery), journals
 * the process's events and executes its commands over {@link FrontendVolume}, which serves the
 * volume over NBD while blocks arrive. Which blocks are present lives in the member's block store.
 */
public final class BlockFrontend extends EventSourcedBehavior<BlockFrontend.Command, VolumeMigration.Event, VolumeMigration.Phase> {

  public sealed interface Command extends CborSerializable {}

  /** Serve this volume (sent by the agent; repeated sends are harmless). */
  public record Start(VolumeSpec spec) implements Command {}

  /**
   * The volume's backend is (now) this actor: attach to it unless already attached. With the
   * source's size known ({@code sizeBytes} > 0) the volume is exported at once and its first
   * fetches travel right behind the Attach, not a round trip later.
   */
  public record UseBackend(ActorRef<BlockBackend.Command> backend, long sizeBytes) implements Command {}

  /** @param restKey the volume's at-rest key when it is kept encrypted at the target (empty otherwise); held in memory only */
  public record Attached(long attachId, long sizeBytes, int blockSizeBytes, byte[] restKey) implements Command {}

  public record Scanned(long attachId, long[] zeroWords) implements Command {}

  public record GetStatus(ActorRef<StatusReply> replyTo) implements Command {}

  public record Stop(ActorRef<Done> replyTo) implements Command {}

  /**
   * The frontend's view: progress and figures, where the volume is exported, the phase's label
   * ({@link VolumeMigration.Phase#label()}), and why it failed ("" unless it did).
   */
  public record StatusReply(
      Optional<FrontendVolume.FrontendStatus> status,
      String nbdUrl,
      String member,
      String phase,
      String error,
      Optional<Changes> changes,
      Optional<MirrorLink.Status> mirror)
      implements CborSerializable {

    /** A frontend of one (not clustered). */
    public StatusReply(Optional<FrontendVolume.FrontendStatus> status, String nbdUrl, String member, String phase, String error, Optional<Changes> changes) {
      this(status, nbdUrl, member, phase, error, changes, Optional.empty());
    }
  }

  /**
   * The registry's word on a clustered volume's second frontend: from now on every write is held
   * by {@code mirror} before it is acknowledged ({@code mirror} empty: there is none now, writes
   * are acknowledged here alone). Repeated on every registry tick; a new mirror is filled with
   * everything held here.
   */
  public record UseMirror(Optional<ActorRef<BlockMirror.Command>> mirror, String member) implements Command {}

  /**
   * The end of the volume's life as the frontend sees it: the write policy, which side is the
   * primary, what the source lacks of the target's writes and what has been shipped to it.
   *
   * @param primary "source" until the cut-over, "target" after it, "source" again once aborted or reversed
   * @param pass the convergence pass under way (0 outside CONVERGING)
   * @param lastPassBlocks blocks the previous pass shipped (-1 before the first)
   * @param writesHeld a pass holds the workload's writes (write-blocking, because passes stopped shrinking)
   */
  public record Changes(
      String writePolicy,
      String primary,
      boolean sourceDetachable,
      long pendingBlocks,
      long oldestPendingAgeMillis,
      long writesTracked,
      long shippedBlocks,
      long shipments,
      int pass,
      long lastPassBlocks,
      boolean writesHeld)
      implements CborSerializable {}

  /** What a user asks of a running migration (the CLI's and the API's verbs). */
  public enum Action {
    CUTOVER,
    PAUSE,
    RESUME,
    ABORT,
    REVERSE,
    POLICY
  }

  /** A user's request; {@code policy} is the write policy's word for {@link Action#POLICY} ("" otherwise). */
  public record Control(Action action, String policy, ActorRef<ControlReply> replyTo) implements Command {}

  /**
   * The answer, once what the request decided is durable: refused (with why), or accepted with
   * the phase after it ({@code message} says when it was a repeat, e.g. "already paused").
   */
  public record ControlReply(boolean accepted, String phase, String message) implements CborSerializable {}

  /** The source applied part {@code part} of shipment {@code shipment} durably. */
  public record ChangesApplied(long shipment, int part) implements Command {}

  /**
   * A pre-copy volume's passes at the source ended: cut over ({@code cutOver}: the source refuses
   * writes, this target holds every acknowledged one) or failed ({@code reason}; the source stays
   * the primary; {@code standing}: the request stands, the target's sink was gone, so the passes run
   * again when a frontend attaches, or at once when the user cuts over again).
   */
  public record PreCopyPassesEnded(boolean cutOver, boolean standing, String reason, int passes, long pauseMillis) implements Command {}

  /**
   * The source journaled the user's cut-over request of a pre-copy volume and it stands (told on
   * every attach, and when passes into an earlier frontend's sink broke off): this frontend asks for
   * the passes into its sink once it holds every block. {@code lastError}: why earlier passes broke
   * off ("" if none did); {@code passesRunning}: passes into an earlier frontend's sink still run
   * (they may cut over any moment: no abort until they ended).
   */
  public record PreCopyCutOverStands(String lastError, boolean passesRunning) implements Command {}

  private record ShipTick() implements Command {}

  private static final String SHIP = "ship";

  private record Tick() implements Command {}

  /** The key of the tick timer, which runs while the volume is open here. */
  private static final String TICK = "tick";

  private record CopyDone() implements Command {}

  /** Fills in flight to a mirror at most: 16 blocks (1 MiB at 64 KiB) keep the cluster channel free for writes. */
  private static final int MIRROR_FILL_WINDOW = 16;

  private record BackendGone() implements Command {}

  public static Behavior<Command> create(VolumeId volume) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new BlockFrontend(ctx, timers, volume)));
  }

  public static String persistenceId(VolumeId volume) {
    return "ferry-volume-frontend|" + volume.value();
  }

  private static final int HASHES_PER_MESSAGE = 2048;

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final VolumeId volume;
  private final BlockResources resources;
  private final ControlLink control;
  private final VolumeMigration process;
  private FrontendVolume core;
  /** The spec asks to keep the volume encrypted at rest here. */
  private boolean encryptAtRest;
  private BlockMetrics.VolumeMeters meters;
  private ActorRef<BlockBackend.Command> backend;
  private String instance = "";

  // A clustered volume's second frontend (see MirrorLink); unused with one frontend.
  private final MirrorLink mirrorLink;
  private final MirrorSettings mirrorSettings;
  private final ActorRef<BlockMirror.Held> mirrorAcks;
  private Optional<ActorRef<BlockMirror.Command>> mirrorRef = Optional.empty();
  private String mirrorMember = "";
  private boolean mirrorKnown;
  /** A clustered volume's (two frontends): its export never acknowledges a write on this copy alone unless degraded. */
  private boolean clustered;

  // The target's writes the source lacks, and their shipping (issue 14): see onShipTick.
  private final ChangeSettings changeSettings;
  private io.ferry.blocks.writeback.ChangeTracker changes;
  private enum Purpose {
    WRITE_BACK,
    PASS,
    DRAIN
  }
  /** A convergence pass to run (its number), 0 when none. */
  private int passWanted;
  private boolean passHolds;
  /** An abort or a reverse ships everything before the source is the primary again. */
  private boolean drainWanted;
  private boolean paused;
  private Purpose purpose;
  private io.ferry.blocks.writeback.ChangeTracker.Shipment shipment;
  private List<long[]> parts = List.of();
  private BitSet partsAcked = new BitSet();
  private int nextPart;
  private long lastShipProgressNanos;
  private ActorRef<BlockBackend.Command> shippingTo;

  // A pre-copy volume (spec.preCopy): the workload runs at the source until the cut-over, so this
  // frontend exports only its sink for the source's passes, untracked (the source has those bytes).
  private boolean preCopyVolume;
  /** The phase the last decision was taken in. */
  private VolumeMigration.Phase lastPhase = new VolumeMigration.New();
  /** The user's cut-over request stands (asked here, or the source said so on attach): ask once every block is here. */
  private boolean preCopyWanted;
  /** The request went to the backend and its passes have not ended: no abort now. */
  private boolean preCopyAsked;
  /** The source cut over while this store still lacked blocks: finish once every block is here (the source serves them until released). */
  private PreCopyPassesEnded preCopyDue;

  private BlockFrontend(ActorContext<Command> ctx, TimerScheduler<Command> timers, VolumeId volume) {
    super(PersistenceId.ofUniqueId(persistenceId(volume)));
    this.ctx = ctx;
    this.timers = timers;
    this.volume = volume;
    this.resources = BlockResources.get(ctx.getSystem());
    this.control = resources.control();
    // An attachment the backend leaves unanswered this long is sent again: as long as a stalled copy waits.
    this.changeSettings = ChangeSettings.from(ctx.getSystem().settings().config());
    this.process = new VolumeMigration(resources.settings().backgroundStall(), resources.settings().progressLogInterval(), changeSettings.cutOverThresholdBlocks());
    this.mirrorSettings = MirrorSettings.from(ctx.getSystem().settings().config());
    this.mirrorLink = new MirrorLink(
        System::nanoTime, MIRROR_FILL_WINDOW, resources.settings().fetchTimeout().toNanos() * 4, mirrorSettings.unmirrored(), mirrorSettings.holdLimit().toNanos());
    MirrorLink link = mirrorLink;
    // Acknowledgements go straight to the link: not through this actor's mailbox, which stashes while it persists.
    this.mirrorAcks = ctx.spawnAnonymous(Behaviors.receive(BlockMirror.Held.class).onMessage(BlockMirror.Held.class, h -> {
      link.held(h.id());
      return Behaviors.same();
    }).build());
  }

  @Override
  public VolumeMigration.Phase emptyState() {
    return new VolumeMigration.New();
  }

  @Override
  public CommandHandler<Command, VolumeMigration.Event, VolumeMigration.Phase> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Start.class, (s, c) -> run(s, process.decide(s, new VolumeMigration.Start(c.spec())), null))
        .onCommand(UseBackend.class, this::onUseBackend)
        .onCommand(UseMirror.class, (s, c) -> {
          mirrorRef = c.mirror();
          mirrorMember = c.member();
          mirrorKnown = true;
          useMirror();
          return Effect().none();
        })
        .onCommand(Attached.class, (s, c) -> {
          if (c.restKey().length > 0 && core != null) {
            core.restKey(c.restKey());
          }
          return run(s, process.decide(s, new VolumeMigration.AttachAcknowledged(c.attachId(), c.sizeBytes(), c.blockSizeBytes())), null);
        })
        .onCommand(Scanned.class, (s, c) -> {
          if (core != null && c.attachId() == core.attachId() && core.hasGeometry()) {
            try {
              core.zeroBlocks(BitSet.valueOf(c.zeroWords()));
            } catch (IOException e) {
              ctx.getLog().error("volume={} could not record zero blocks", volume, e);
            }
          }
          return Effect().none();
        })
        .onCommand(Tick.class, (s, c) -> {
          if (core == null) {
            return Effect().none();
          }
          boolean stalled = core.tick();
          if (mirrorKnown) {
            mirrorLink.tick(core);
          }
          return run(s, process.decide(s, new VolumeMigration.Tick(System.nanoTime(), core.blocksPresent(), stalled, newAttachId())), null);
        })
        .onCommand(CopyDone.class, (s, c) -> {
          if (preCopyDue != null) {
            ctx.getSelf().tell(preCopyDue);
            preCopyDue = null;
          }
          // A standing request waits for every block (and for COPIED, which this may record).
          return run(s, process.decide(s, new VolumeMigration.EveryBlockPresent()), null).thenRun(this::askPreCopyPasses);
        })
        .onCommand(BackendGone.class, (s, c) -> {
          ctx.getLog().info("volume={} backend gone; waiting for its replacement", volume);
          backend = null;
          return run(s, process.decide(s, new VolumeMigration.BackendLost()), null);
        })
        .onCommand(GetStatus.class, (s, c) -> {
          c.replyTo().tell(
              new StatusReply(
                  Optional.ofNullable(core).filter(FrontendVolume::hasGeometry).map(FrontendVolume::status),
                  PreCopyLife.targetExports(preCopyVolume, targetLive(s)) ? resources.nbdUrl(volume) : "",
                  ctx.getSystem().address().toString(),
                  s.label(),
                  s instanceof VolumeMigration.Failed f ? f.reason() : "",
                  changesStatus(s),
                  mirrorKnown ? Optional.of(mirrorLink.status()) : Optional.empty()));
          return Effect().none();
        })
        .onCommand(Control.class, this::onControl)
        .onCommand(ShipTick.class, this::onShipTick)
        .onCommand(ChangesApplied.class, this::onChangesApplied)
        .onCommand(PreCopyPassesEnded.class, this::onPreCopyPassesEnded)
        .onCommand(PreCopyCutOverStands.class, (s, c) -> {
          if (preCopyVolume && !preCopyWanted) {
            ctx.getLog().info("volume={} pre-copy: the source holds a standing cut-over request{}; the passes run into this frontend's sink once it holds every block",
                volume, c.lastError().isEmpty() ? "" : " (" + c.lastError() + ")");
          }
          preCopyWanted = preCopyVolume;
          preCopyAsked = preCopyVolume && c.passesRunning();
          askPreCopyPasses(s);
          return Effect().none();
        })
        .onCommand(Stop.class, (s, c) -> run(s, process.decide(s, new VolumeMigration.StopRequested()), c.replyTo()).thenStop())
        .build();
  }

  private Effect<VolumeMigration.Event, VolumeMigration.Phase> onUseBackend(VolumeMigration.Phase s, UseBackend c) {
    VolumeMigration.Decision d = process.decide(s, new VolumeMigration.BackendKnown(c.backend().toString(), c.sizeBytes(), newAttachId(), System.nanoTime()));
    if (!d.isIgnored() && !c.backend().equals(backend)) {
      if (backend != null) {
        ctx.unwatch(backend);
      }
      backend = c.backend();
      ctx.watchWith(backend, new BackendGone());
      askPreCopyPasses(s); // a restarted source member runs the passes again (its change set read from its log)
    }
    return run(s, d, null);
  }

  /**
   * Executes a decision: its commands at once (serving does not wait for the journal), its events
   * persisted, and the stop's reply once they are durable.
   */
  private EffectBuilder<VolumeMigration.Event, VolumeMigration.Phase> run(VolumeMigration.Phase s, VolumeMigration.Decision d, ActorRef<Done> replyTo) {
    if (d.isIgnored()) {
      ctx.getLog().debug("volume={} phase={} input ignored: {}", volume, s.label(), d.ignored());
    }
    boolean reply = false;
    encryptAtRest = encryptAtRest || specOf(s, d).map(VolumeSpec::encryptAtRest).orElse(false);
    preCopyVolume = preCopyVolume || specOf(s, d).map(VolumeSpec::preCopy).orElse(false);
    clustered = clustered || specOf(s, d).map(VolumeSpec::clustered).orElse(false);
    lastPhase = s;
    for (VolumeMigration.Command command : d.commands()) {
      if (command instanceof VolumeMigration.ReplyStopped) {
        reply = replyTo != null;
      } else {
        execute(command);
      }
    }
    boolean answer = reply;
    if (d.events().isEmpty()) {
      if (answer) {
        replyTo.tell(Done.getInstance());
      }
      return Effect().none();
    }
    return Effect().persist(d.events()).thenRun(after -> {
      if (after instanceof VolumeMigration.Failed f) {
        ctx.getLog().error("volume={} migration failed: {}", volume, f.reason());
      }
      if (answer) {
        replyTo.tell(Done.getInstance());
      }
    });
  }

  private void execute(VolumeMigration.Command command) {
    if (command instanceof VolumeMigration.Open) {
      openCore();
    } else if (command instanceof VolumeMigration.StartPass p) {
      passWanted = p.pass();
      passHolds = p.holdWrites();
      if (p.holdWrites() && core != null) {
        // Passes stopped shrinking: writes wait until this pass is shipped, so the next is empty.
        core.holdWrites();
        ctx.getLog().warn("volume={} convergence pass {} holds the workload's writes (write-blocking): the previous pass did not shrink", volume, p.pass());
      } else {
        ctx.getLog().info("volume={} convergence pass {} starts with {} blocks the source lacks", volume, p.pass(), changes == null ? 0 : changes.pendingBlocks());
      }
      ctx.getSelf().tell(new ShipTick());
    } else if (command instanceof VolumeMigration.ShipChanges sc) {
      drainWanted = true;
      ctx.getLog().info("volume={} {}: shipping the {} blocks written here that the source lacks", volume, sc.reason(), changes == null ? 0 : changes.pendingBlocks());
      ctx.getSelf().tell(new ShipTick());
    } else if (command instanceof VolumeMigration.ApplyPolicy ap) {
      ctx.getLog().info("volume={} write policy is now {}", volume, ap.policy().word());
    } else if (command instanceof VolumeMigration.ReleaseBackend) {
      if (core != null) {
        core.releaseWrites();
        core.detach();
        if (preCopyVolume && lastPhase instanceof VolumeMigration.Converging) {
          // The pre-copy cut-over: the workload moves here; its writes are the source's to lack from now.
          core.trackChanges(changes);
          resources.unexportPreCopy(BlockResources.preCopySinkName(volume), core);
          resources.export(volume, core);
          ctx.getLog().info("volume={} pre-copy cut over: the workload's export is {} now", volume, resources.nbdUrl(volume));
        }
      }
      if (backend != null) {
        control.tell(backend, new BlockBackend.Release());
      }
      ctx.getLog().info("volume={} backend released: the source can be detached", volume);
    } else if (command instanceof VolumeMigration.PauseTransfers || command instanceof VolumeMigration.ResumeTransfers) {
      paused = command instanceof VolumeMigration.PauseTransfers;
      if (backend != null) {
        control.tell(backend, new BlockBackend.PauseBackground(paused));
      }
      if (!paused) {
        ctx.getSelf().tell(new ShipTick());
      }
    } else if (command instanceof VolumeMigration.Release) {
      closeCore(); // nothing to close on a member that never served the volume
    } else if (core == null) {
      ctx.getLog().warn("volume={} {} with the volume closed: skipped", volume, command);
    } else if (command instanceof VolumeMigration.Export e) {
      try {
        core.geometry(e.sizeBytes(), e.blockSizeBytes());
        if (!PreCopyLife.targetExports(preCopyVolume, targetLive(lastPhase))) {
          // The workload runs at the source: only the passes write here, under another name.
          resources.exportPreCopy(BlockResources.preCopySinkName(volume), core);
          return;
        }
        resources.export(volume, core);
      } catch (IOException | RuntimeException ex) {
        ctx.getLog().error("volume={} cannot take the source's geometry: {}", volume, ex.getMessage());
      }
    } else if (command instanceof VolumeMigration.Attach a) {
      attach(a);
    } else if (command instanceof VolumeMigration.Confirm c) {
      if (!core.hasGeometry() || backend == null) {
        return; // the export failed (logged) or the backend went meanwhile
      }
      if (core.attachId() != c.attachId()) {
        core.attach(backendLink(backend), c.attachId());
      }
      ctx.getLog().info("volume={} attached ({} bytes, blocks of {}); exported at {}", volume, c.sizeBytes(), c.blockSizeBytes(),
          PreCopyLife.targetExports(preCopyVolume, targetLive(lastPhase)) ? resources.nbdUrl(volume) : "the source until the cut-over (pre-copy)");
    } else if (command instanceof VolumeMigration.TellBackendComplete t) {
      if (backend != null) {
        control.tell(backend, new BlockBackend.FrontendComplete(t.attachId()));
      }
    } else if (command instanceof VolumeMigration.Detach) {
      core.detach();
    } else if (command instanceof VolumeMigration.LogProgress) {
      if (core.hasGeometry()) {
        FrontendVolume.FrontendStatus st = core.status();
        ctx.getLog().info("volume={} progress {}% ({}/{} blocks) {}", volume, String.format("%.1f", st.percent()), st.blocksPresent(), st.blockCount(), st.transfer());
      }
    } else {
      throw new IllegalStateException("volume=" + volume + " command the frontend cannot execute: " + command);
    }
  }

  /** Tells the backend what the target holds, under the process's new attachment id. */
  private void attach(VolumeMigration.Attach a) {
    if (backend == null) {
      return;
    }
    switch (a.reason()) {
      case STALLED -> ctx.getLog().info("volume={} background copy stalled; attaching again", volume);
      case UNANSWERED -> ctx.getLog().info("volume={} attachment not answered; attaching again", volume);
      default -> {}
    }
    if (a.sendHashes()) {
      List<byte[]> chunk = new ArrayList<>();
      resources.store().forEachHash(h -> {
        chunk.add(h);
        if (chunk.size() == HASHES_PER_MESSAGE) {
          control.tell(backend, new BlockBackend.KnownHashes(pack(chunk)));
          chunk.clear();
        }
      });
      if (!chunk.isEmpty()) {
        control.tell(backend, new BlockBackend.KnownHashes(pack(chunk)));
      }
    }
    BitSet present = core.hasGeometry() ? core.present() : new BitSet();
    // A fresh key for every attachment, made here where frames arrive, so it is in place before
    // the first frame; it reaches the backend over the cluster channel (mutual TLS).
    byte[] key = new byte[0];
    if (resources.encryptBlocks()) {
      key = new byte[SealedFrame.KEY_LENGTH];
      KEYS.nextBytes(key);
      core.channelKey(a.attachId(), key);
    }
    control.tell(backend, new BlockBackend.Attach(a.attachId(), ctx.getSelf(), resources.dataHost(), resources.dataPort(), present.toLongArray(), key));
    if (paused) {
      control.tell(backend, new BlockBackend.PauseBackground(true)); // a restarted backend does not know
    }
    if (core.hasGeometry()) {
      // Fetches may follow the Attach at once: control messages to the backend keep their order.
      core.attach(backendLink(backend), a.attachId());
    }
  }

  private static final java.security.SecureRandom KEYS = new java.security.SecureRandom();

  private static long newAttachId() {
    // Random, so frames and fetches of an attachment made before a crash never match a later one.
    return ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
  }

  private BackendLink backendLink(ActorRef<BlockBackend.Command> to) {
    return new BackendLink() {
      @Override
      public void fetch(long attachId, long[] blocks, boolean noRef) {
        control.tell(to, new BlockBackend.Fetch(attachId, blocks, noRef));
      }

      @Override
      public void credit(long attachId, int blocks) {
        control.tell(to, new BlockBackend.Credit(attachId, blocks));
      }
    };
  }

  /** The spec the migration runs: from the decision's Started event, or the phase it is in. */
  private static java.util.Optional<VolumeSpec> specOf(VolumeMigration.Phase s, VolumeMigration.Decision d) {
    for (VolumeMigration.Event e : d.events()) {
      if (e instanceof VolumeMigration.Started started) {
        return java.util.Optional.of(started.spec());
      }
    }
    if (s instanceof VolumeMigration.Attaching a) {
      return java.util.Optional.of(a.spec());
    }
    if (s instanceof VolumeMigration.Streaming st) {
      return java.util.Optional.of(st.spec());
    }
    if (s instanceof VolumeMigration.Copied c) {
      return java.util.Optional.of(c.spec());
    }
    if (s instanceof VolumeMigration.Converging c) {
      return java.util.Optional.of(c.spec());
    }
    if (s instanceof VolumeMigration.CutOver c) {
      return java.util.Optional.of(c.spec());
    }
    if (s instanceof VolumeMigration.Paused p) {
      return specOf(p.paused(), d);
    }
    if (s instanceof VolumeMigration.Aborting a) {
      return java.util.Optional.of(a.spec());
    }
    if (s instanceof VolumeMigration.Reversing r) {
      return java.util.Optional.of(r.spec());
    }
    return java.util.Optional.empty();
  }

  private void openCore() {
    if (core != null) {
      return;
    }
    core = new FrontendVolume(volume, resources.store(), resources.settings(), resources.ioPool(), System::nanoTime, () -> ctx.getSelf().tell(new CopyDone()));
    openChanges();
    if (!preCopyVolume || targetLive(lastPhase)) {
      core.trackChanges(changes);
    }
    // Before any frame can arrive: nothing of a volume kept encrypted is ever stored in the clear,
    // and a restarted frontend that finds the store's marker waits for the key instead.
    if (encryptAtRest || resources.atRestMarked(volume)) {
      core.encryptedAtRest();
      try {
        resources.markAtRest(volume);
      } catch (IOException e) {
        ctx.getLog().error("volume={} cannot mark the store as holding it encrypted at rest", volume, e);
      }
    }
    resources.registerFrontend(volume, core);
    meters = BlockMetrics.frontend(FerryMetrics.get(ctx.getSystem()).registry(), volume, core);
    instance = ctx.getSystem().address() + "#" + java.util.UUID.randomUUID();
    NodeLifecycle.publish(lifecycleId(volume), instance, ctx.getSystem().address().toString(), true);
    Duration tick = resources.settings().fetchTimeout().dividedBy(4);
    timers.startTimerWithFixedDelay(TICK, new Tick(), tick.isZero() ? Duration.ofMillis(1) : tick);
    if (clustered && !mirrorKnown) {
      // Exported before the registry names a mirror (a promoted frontend exports at once): writes
      // wait for one (or, degraded, are acknowledged here alone), as with no mirror.
      mirrorKnown = true;
      core.mirror(mirrorLink);
    }
    useMirror();
  }

  /** Points the export's writes at the mirror the registry named (once the volume is open here). */
  private void useMirror() {
    if (core == null || !mirrorKnown) {
      return;
    }
    FrontendVolume served = core;
    served.mirror(mirrorLink);
    ActorRef<BlockMirror.Held> acks = mirrorAcks;
    boolean changed = mirrorLink.use(
        mirrorRef.<MirrorLink.Sender>map(m -> h -> m.tell(new BlockMirror.Hold(
            h.id(), served.sizeBytes(), served.blockSizeBytes(), h.block(), h.version(), h.data() == null ? new byte[0] : h.data(), h.localWrite(), h.pending(), acks)))
            .orElse(null),
        mirrorRef.orElse(null),
        mirrorMember);
    if (changed) {
      if (mirrorRef.isPresent()) {
        ctx.getLog().info("volume={} mirror at {}: writes are acknowledged once it holds them too; filling it with every block held here", volume, mirrorMember);
      } else {
        ctx.getLog().warn("volume={} no mirror: writes {} until the registry names one", volume,
            mirrorSettings.unmirrored() == MirrorLink.Unmirrored.DEGRADED
                ? "are acknowledged by this frontend alone (ferry.blocks.mirror.unmirrored-writes = degraded)"
                : "wait (at most ferry.blocks.mirror.hold-limit) for a new mirror to hold them");
      }
    }
  }

  /**
   * Opens the log of the target's writes the source lacks (once per incarnation; it stays open
   * when the export closes, since an abort or a reverse ships from it then) and the shipping timer.
   */
  private void openChanges() {
    if (changes != null) {
      return;
    }
    try {
      changes = io.ferry.blocks.writeback.ChangeTracker.open(resources.changesLog(volume), System.nanoTime());
    } catch (IOException e) {
      // Writes must not be acknowledged untracked: fail, the supervisor starts the frontend again.
      throw new java.io.UncheckedIOException("volume=" + volume + " cannot open the log of writes the source lacks", e);
    }
    if (changes.pendingBlocks() > 0) {
      ctx.getLog().info("volume={} {} blocks written here are not yet at the source", volume, changes.pendingBlocks());
    }
    timers.startTimerWithFixedDelay(SHIP, new ShipTick(), changeSettings.shipTick());
  }

  private void closeCore() {
    if (core != null) {
      resources.unregisterFrontend(volume, core);
      resources.unexportPreCopy(BlockResources.preCopySinkName(volume), core);
      meters.close();
      core = null;
      timers.cancel(TICK);
      NodeLifecycle.publish(lifecycleId(volume), instance, ctx.getSystem().address().toString(), false);
    }
  }

  private Effect<VolumeMigration.Event, VolumeMigration.Phase> onControl(VolumeMigration.Phase s, Control c) {
    if (c.action() == Action.ABORT && preCopyVolume && preCopyAsked) {
      // The passes may cut over any moment; an abort now could leave neither end serving.
      c.replyTo().tell(new ControlReply(false, s.label(), "the source's cut-over passes are running: wait for the cut-over (then reverse) or for them to fail"));
      return Effect().none();
    }
    if (c.action() == Action.CUTOVER && preCopyVolume && (s instanceof VolumeMigration.Streaming || s instanceof VolumeMigration.Copied)) {
      String refused = PreCopyLife.refuseCutOver(PreCopyLife.State.EMPTY, s instanceof VolumeMigration.Copied);
      if (!refused.isEmpty()) {
        c.replyTo().tell(new ControlReply(false, s.label(), refused));
        return Effect().none();
      }
      boolean repeat = preCopyAsked;
      preCopyWanted = true;
      askPreCopyPasses(s);
      ctx.getLog().info("volume={} pre-copy cut-over requested: the source runs its passes into this target", volume);
      c.replyTo().tell(new ControlReply(true, "CONVERGING", repeat ? "already converging" : preCopyAsked ? "" : "the passes start once every block is at this target"));
      return Effect().none();
    }
    VolumeMigration.Input input;
    try {
      input = switch (c.action()) {
        case CUTOVER -> new VolumeMigration.CutOverRequested();
        case PAUSE -> new VolumeMigration.PauseRequested();
        case RESUME -> new VolumeMigration.ResumeRequested();
        case ABORT -> new VolumeMigration.AbortRequested();
        case REVERSE -> new VolumeMigration.ReverseRequested();
        case POLICY -> new VolumeMigration.ChangePolicy(WritePolicy.parse(c.policy()));
      };
    } catch (IllegalArgumentException e) {
      c.replyTo().tell(new ControlReply(false, s.label(), e.getMessage()));
      return Effect().none();
    }
    VolumeMigration.Decision d = process.decide(s, input);
    if (d.refused()) {
      c.replyTo().tell(new ControlReply(false, s.label(), d.ignored()));
      return Effect().none();
    }
    ctx.getLog().info("volume={} {} requested in phase {}{}", volume, c.action().name().toLowerCase(java.util.Locale.ROOT), s.label(), d.isIgnored() ? ": " + d.ignored() : "");
    return run(s, d, null).thenRun(after -> c.replyTo().tell(new ControlReply(true, after.label(), d.ignored())));
  }

  /**
   * Asks the backend for the pre-copy passes into this frontend's sink export while the request
   * stands (again after a backend change), once this store holds every block: the passes ship only
   * what changed, so a frontend recovered on another member must have the rest first.
   */
  private void askPreCopyPasses(VolumeMigration.Phase s) {
    if (backend != null && preCopyWanted && s instanceof VolumeMigration.Copied && core != null && core.completed()) {
      preCopyAsked = true;
      control.tell(backend, new BlockBackend.PreCopyCutOver(resources.nbdHost(), resources.nbdPort(), BlockResources.preCopySinkName(volume), ctx.getSelf()));
    }
  }

  /**
   * The source's passes ended: on a cut-over this target holds every acknowledged write, durably, and the
   * migration's own cut-over follows (its pass ships nothing: the passes' writes were not tracked),
   * which releases the backend and exports the volume here.
   */
  private Effect<VolumeMigration.Event, VolumeMigration.Phase> onPreCopyPassesEnded(VolumeMigration.Phase s, PreCopyPassesEnded e) {
    preCopyAsked = false;
    preCopyWanted = false;
    if (!preCopyVolume || !(s instanceof VolumeMigration.Copied)) {
      return Effect().none(); // cut over already (a repeat), or not a pre-copy volume
    }
    if (!e.cutOver()) {
      ctx.getLog().warn("volume={} pre-copy passes failed, the source stays the primary ({}): {}", volume,
          e.standing() ? "the request stands: they run again when this target re-attaches, or cut over again now" : "cut over again to retry", e.reason());
      return Effect().none();
    }
    if (core == null || !core.completed()) {
      // Recovered here after the source cut over: the source (refusing writes) still serves the
      // blocks this store lacks, until the cut-over below releases it.
      ctx.getLog().info("volume={} pre-copy: the source cut over; finishing here once every block is present", volume);
      preCopyDue = e;
      return Effect().none();
    }
    // The passes' writes are durable here already: the final pass flushed this export (NBD FLUSH
    // syncs the store) before the source refused writes.
    ctx.getLog().info("volume={} pre-copy passes done ({} passes, pause {} ms): cutting over here", volume, e.passes(), e.pauseMillis());
    return run(s, process.decide(s, new VolumeMigration.CutOverRequested()), null);
  }

  /** After the cut-over: the target serves the workload (a pre-copy volume's export opens then). */
  private static boolean targetLive(VolumeMigration.Phase s) {
    if (s instanceof VolumeMigration.Paused p) {
      return targetLive(p.paused());
    }
    return s instanceof VolumeMigration.CutOver || s instanceof VolumeMigration.Reversing || s instanceof VolumeMigration.Reversed;
  }

  /**
   * Ships what the source lacks, one shipment at a time: everything for a convergence pass or for
   * an abort or a reverse (in that order of need), and under write-back whatever is due by its RPO
   * or size. A shipment goes in parts of a few blocks over the control channel, a window of them
   * in flight; parts not confirmed are sent again when the backend changes or nothing was
   * confirmed for a stall timeout. Nothing ships while paused.
   */
  private Effect<VolumeMigration.Event, VolumeMigration.Phase> onShipTick(VolumeMigration.Phase s, ShipTick t) {
    if (changes == null || s instanceof VolumeMigration.Paused) {
      return Effect().none();
    }
    long now = System.nanoTime();
    if (shipment == null) {
      int max;
      if (drainWanted && (s instanceof VolumeMigration.Aborting || s instanceof VolumeMigration.Reversing)) {
        purpose = Purpose.DRAIN;
        max = Integer.MAX_VALUE;
      } else if (passWanted > 0 && s instanceof VolumeMigration.Converging) {
        purpose = Purpose.PASS;
        max = Integer.MAX_VALUE;
      } else if (VolumeMigration.writePolicy(s) == WritePolicy.WRITE_BACK && beforeCutOver(s) && changes.due(now, changeSettings.rpo().toNanos(), changeSettings.batchBlocks(blockSizeOf(s)))) {
        purpose = Purpose.WRITE_BACK;
        max = changeSettings.batchBlocks(blockSizeOf(s));
      } else {
        return Effect().none();
      }
      Optional<io.ferry.blocks.writeback.ChangeTracker.Shipment> next = changes.ship(max);
      if (next.isEmpty()) {
        return shipped(s, 0);
      }
      shipment = next.get();
      int perPart = Math.max(1, changeSettings.messageBytes() / blockSizeOf(s));
      List<long[]> split = new ArrayList<>();
      long[] all = shipment.blocks().stream().mapToLong(io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion::block).toArray();
      for (int i = 0; i < all.length; i += perPart) {
        split.add(java.util.Arrays.copyOfRange(all, i, Math.min(all.length, i + perPart)));
      }
      parts = split;
      partsAcked = new BitSet();
      nextPart = 0;
      shippingTo = null;
      lastShipProgressNanos = now;
      ctx.getLog().info("volume={} shipment {} ({}): {} blocks to the source in {} parts", volume, shipment.number(), purpose, all.length, parts.size());
    }
    if (backend == null) {
      return Effect().none(); // sent once the registry names the backend
    }
    if (!backend.equals(shippingTo) || now - lastShipProgressNanos > resources.settings().backgroundStall().toNanos()) {
      nextPart = partsAcked.nextClearBit(0); // a new backend, or parts lost: send again what is unconfirmed
      shippingTo = backend;
      lastShipProgressNanos = now;
    }
    sendParts(s);
    return Effect().none();
  }

  private void sendParts(VolumeMigration.Phase s) {
    int blockSize = blockSizeOf(s);
    int window = changeSettings.partsInFlight();
    while (nextPart < parts.size() && nextPart - partsAcked.nextClearBit(0) < window) {
      if (partsAcked.get(nextPart)) {
        nextPart++;
        continue;
      }
      long[] blocks = parts.get(nextPart);
      byte[] data = new byte[blocks.length * blockSize];
      byte[] one = new byte[blockSize];
      try {
        for (int i = 0; i < blocks.length; i++) {
          java.util.Arrays.fill(one, (byte) 0);
          if (!readForShipping(blocks[i], one)) {
            throw new IOException("block " + blocks[i] + " written here is not in the store");
          }
          System.arraycopy(one, 0, data, i * blockSize, blockSize);
        }
      } catch (IOException | RuntimeException e) {
        ctx.getLog().error("volume={} shipment {} part {} cannot be read: {}", volume, shipment.number(), nextPart, e.getMessage());
        return; // tried again after the stall timeout
      }
      control.tell(backend, new BlockBackend.ApplyChanges(shipment.number(), nextPart, blocks, data, ctx.getSelf()));
      nextPart++;
    }
  }

  private boolean readForShipping(long block, byte[] into) throws IOException {
    if (core != null) {
      return core.readBlock(block, into);
    }
    if (encryptAtRest || resources.atRestMarked(volume)) {
      throw new IOException("the volume is kept encrypted at rest and its export is closed: shipping needs it open (recovering the frontend opens it)");
    }
    return resources.store().read(volume.value(), block, into);
  }

  private Effect<VolumeMigration.Event, VolumeMigration.Phase> onChangesApplied(VolumeMigration.Phase s, ChangesApplied a) {
    if (shipment == null || a.shipment() != shipment.number() || a.part() < 0 || a.part() >= parts.size()) {
      return Effect().none(); // a late answer to a part sent twice
    }
    partsAcked.set(a.part());
    lastShipProgressNanos = System.nanoTime();
    if (partsAcked.cardinality() < parts.size()) {
      sendParts(s);
      return Effect().none();
    }
    long blocks = shipment.blocks().size();
    try {
      changes.confirmed(shipment.number());
    } catch (IOException e) {
      ctx.getLog().error("volume={} shipment {} applied at the source but not recorded here; it is sent again", volume, shipment.number(), e);
      shipment = null;
      return Effect().none();
    }
    ctx.getLog().info("volume={} shipment {} ({}) applied at the source: {} blocks", volume, shipment.number(), purpose, blocks);
    forwardShipped(shipment);
    shipment = null;
    parts = List.of();
    return shipped(s, blocks);
  }

  /** Tells a clustered volume's mirror that the source holds {@code done}, so a promotion does not ship it again. */
  private void forwardShipped(io.ferry.blocks.writeback.ChangeTracker.Shipment done) {
    if (mirrorRef.isEmpty()) {
      return;
    }
    long[] blocks = done.blocks().stream().mapToLong(io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion::block).toArray();
    long[] sequences = done.blocks().stream().mapToLong(io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion::sequence).toArray();
    mirrorRef.get().tell(new BlockMirror.Shipped(done.number(), blocks, sequences));
  }

  /** A shipment of {@code blocks} for the current purpose is at the source (0: there was nothing to ship). */
  private Effect<VolumeMigration.Event, VolumeMigration.Phase> shipped(VolumeMigration.Phase s, long blocks) {
    Purpose done = purpose;
    purpose = null;
    if (done == Purpose.PASS && s instanceof VolumeMigration.Converging c && passWanted == c.pass()) {
      passWanted = 0;
      if (passHolds && core != null) {
        core.releaseWrites();
      }
      passHolds = false;
      return run(s, process.decide(s, new VolumeMigration.PassDone(c.pass(), blocks)), null).thenRun(after -> {
        if (after instanceof VolumeMigration.CutOver) {
          ctx.getLog().info("volume={} cut over after pass {} ({} blocks): the target is the primary", volume, c.pass(), blocks);
        }
      });
    }
    if (done == Purpose.DRAIN && changes.pendingBlocks() == 0) {
      drainWanted = false;
      return run(s, process.decide(s, new VolumeMigration.ChangesShipped()), null);
    }
    if (changes.pendingBlocks() > 0 || passWanted > 0 || drainWanted) {
      ctx.getSelf().tell(new ShipTick());
    }
    return Effect().none();
  }

  private static boolean beforeCutOver(VolumeMigration.Phase s) {
    return s instanceof VolumeMigration.Streaming || s instanceof VolumeMigration.Copied || s instanceof VolumeMigration.Converging;
  }

  /** The volume's block size: the spec's (the backend's answer is checked against it). */
  private int blockSizeOf(VolumeMigration.Phase s) {
    return specOf(s, new VolumeMigration.Decision(List.of(), List.of(), "")).map(VolumeSpec::blockSizeBytes).orElse(resources.settings().blockSizeBytes());
  }

  private Optional<Changes> changesStatus(VolumeMigration.Phase s) {
    if (changes == null) {
      return Optional.empty();
    }
    io.ferry.blocks.writeback.ChangeTracker.Stats st = changes.stats(System.nanoTime());
    String primary = s instanceof VolumeMigration.CutOver ? "target" : "source";
    int pass = s instanceof VolumeMigration.Converging c ? c.pass() : 0;
    long lastPass = s instanceof VolumeMigration.Converging c ? c.lastChangedBlocks() : -1;
    return Optional.of(new Changes(
        VolumeMigration.writePolicy(s).word(),
        primary,
        VolumeMigration.sourceDetachable(s),
        st.pendingBlocks(),
        st.oldestPendingAgeNanos() / 1_000_000,
        st.writes(),
        st.shippedBlocks(),
        st.shipments(),
        pass,
        lastPass,
        core != null && core.writesHeld()));
  }

  /** How a frontend appears to single-owner checkers: one live frontend per volume. */
  public static String lifecycleId(VolumeId volume) {
    return "volume-frontend|" + volume.value();
  }

  private static byte[] pack(List<byte[]> hashes) {
    byte[] out = new byte[hashes.size() * 32];
    for (int i = 0; i < hashes.size(); i++) {
      System.arraycopy(hashes.get(i), 0, out, i * 32, 32);
    }
    return out;
  }

  @Override
  public EventHandler<VolumeMigration.Phase, VolumeMigration.Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(VolumeMigration::apply);
  }

  @Override
  public SignalHandler<VolumeMigration.Phase> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> {
          Optional<Site> target = VolumeMigration.targetSite(s);
          if (target.isPresent() && !target.get().name().equals(resources.site())) {
            // A stop reaches a frontend on every member and the journal is shared: a member at
            // another site replays the target's events but must not open or export the volume.
            ctx.getLog().debug("volume={} recovered at site {}, not its target {}: not opened", volume, resources.site(), target.get());
            return;
          }
          VolumeMigration.Decision d = process.decide(s, new VolumeMigration.Recovered());
          // As run() does: what the commands do depends on the mode and the phase (pre-copy exports).
          preCopyVolume = preCopyVolume || specOf(s, d).map(VolumeSpec::preCopy).orElse(false);
          lastPhase = s;
          d.commands().forEach(this::execute);
        })
        .onSignal(PostStop.instance(), s -> {
          closeCore();
          if (changes != null) {
            try {
              changes.close();
            } catch (IOException e) {
              ctx.getLog().warn("volume={} closing the change log failed: {}", volume, e.getMessage());
            }
            changes = null;
          }
        })
        .build();
  }
}
