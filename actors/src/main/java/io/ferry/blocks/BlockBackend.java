package io.ferry.blocks;

import io.ferry.blocks.precopy.PreCopyHost;
import io.ferry.blocks.precopy.PreCopyLife;
import io.ferry.blocks.precopy.PreCopyMigration;
import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import java.io.IOException;
import java.util.BitSet;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The persistent backend of one volume at its source site: a thin shell over {@link BackendVolume}.
 * It journals only what it serves (the spec) and that it stopped; which blocks the target holds is
 * the frontend's (its store), sent with every attach, so a restarted backend never sends a block the
 * target already has.
 */
public final class BlockBackend extends EventSourcedBehavior<BlockBackend.Command, BlockBackend.Event, BlockBackend.State> {

  public sealed interface Command extends CborSerializable {}

  /**
   * Serve this volume (sent by the agent; repeated sends are harmless). {@code frontendHost:frontendPort},
   * when known, is where the frontend will receive blocks: the link is set up ahead of its attach.
   */
  public record Start(VolumeSpec spec, String frontendHost, int frontendPort) implements Command {}

  /** Block hashes the target's store holds, 32 bytes each, packed. */
  public record KnownHashes(byte[] packedHashes) implements Command {}

  /** @param channelKey the key to seal this attachment's frames with (AES-256); empty: plain frames */
  public record Attach(long attachId, ActorRef<BlockFrontend.Command> frontend, String host, int port, long[] presentWords, byte[] channelKey) implements Command {}

  public record Fetch(long attachId, long[] blocks, boolean noRef) implements Command {}

  public record Credit(long attachId, int blocks) implements Command {}

  public record FrontendComplete(long attachId) implements Command {}

  public record Stop(ActorRef<Done> replyTo) implements Command {}

  public record GetStatus(ActorRef<StatusReply> replyTo) implements Command {}

  /**
   * @param preCopy a pre-copy volume's passes, mode and pause (null otherwise)
   * @param sourceNbdUrl where a pre-copy volume's workload writes until the cut-over ("" otherwise)
   */
  public record StatusReply(Optional<BackendVolume.BackendStatus> status, String member, String error, PreCopyLife.View preCopy, String sourceNbdUrl)
      implements CborSerializable {
    public StatusReply(Optional<BackendVolume.BackendStatus> status, String member, String error) {
      this(status, member, error, null, "");
    }
  }

  private record FrontendGone() implements Command {}

  /**
   * The target is the primary (cut over) or the source is again (aborted, reversed): close the
   * source, recorded, so no later start opens it again; the source can be detached. Changes
   * shipped back are still applied (a reverse after the cut-over needs them).
   */
  public record Release() implements Command {}

  /**
   * Part {@code part} of shipment {@code shipment}: the target's newest bytes of {@code blocks}
   * ({@code blocks.length} blocks of the volume's block size, packed), written to the source in
   * place and forced before {@link BlockFrontend.ChangesApplied} answers.
   */
  public record ApplyChanges(long shipment, int part, long[] blocks, byte[] data, ActorRef<BlockFrontend.Command> replyTo) implements Command {}

  /** Pause (true) or resume the background copy; on-demand fetches are served either way. */
  public record PauseBackground(boolean paused) implements Command {}

  /**
   * A pre-copy volume's cut-over (from its frontend, which holds every block): run the passes into
   * the frontend's sink export at {@code sinkHost:sinkPort}, then answer {@link
   * BlockFrontend.PreCopyPassesEnded}. Sent again until answered; a repeat while passes run is ignored.
   */
  public record PreCopyCutOver(String sinkHost, int sinkPort, String sinkExport, ActorRef<BlockFrontend.Command> replyTo) implements Command {}

  /** Events of a recovery, which cannot persist from the signal handler. */
  private record RecordPreCopy(PreCopyOpened opened) implements Command {}

  /** The passes ended (on the host's thread). */
  /** From the passes' thread to this actor only (it carries their host): never serialized. */
  private record PreCopyEnded(PreCopyHost host, PreCopyHost.Outcome outcome) implements Command, org.apache.pekko.actor.NoSerializationVerificationNeeded {}

  public sealed interface Event extends CborSerializable {}

  public record Started(VolumeSpec spec) implements Event {}

  public record Stopped() implements Event {}

  public record Released() implements Event {}

  /** A pre-copy volume's source export opened ({@code recopyAll}: after a restart, the change log unreadable). */
  public record PreCopyOpened(long atMillis, boolean recopyAll) implements Event {}

  public record PreCopyCutOverAsked(long atMillis) implements Event {}

  public record PreCopyPassesFailed(long atMillis, String reason) implements Event {}

  /** The passes broke off with the target's sink gone: the cut-over request stands ({@link PreCopyLife.PassesBrokeOff}). */
  public record PreCopyPassesBrokeOff(long atMillis, String reason) implements Event {}

  public record PreCopyCutOverDone(long atMillis, int passes, long pauseMillis) implements Event {}

  /** @param preCopy a pre-copy volume's life at the source ({@link PreCopyLife}) */
  public record State(VolumeSpec spec, boolean stopped, boolean released, PreCopyLife.State preCopy) implements CborSerializable {
    public State(VolumeSpec spec, boolean stopped, boolean released) {
      this(spec, stopped, released, PreCopyLife.State.EMPTY);
    }
  }

  public static Behavior<Command> create(VolumeId volume) {
    return Behaviors.setup(ctx -> new BlockBackend(ctx, volume));
  }

  public static String persistenceId(VolumeId volume) {
    return "ferry-volume-backend|" + volume.value();
  }

  private final ActorContext<Command> ctx;
  private final VolumeId volume;
  private final BlockResources resources;
  private final ControlLink control;
  private BackendVolume engine;
  /** The volume's at-rest key when its spec asks for one (empty otherwise); lives at this, the source, site. */
  private byte[] restKey = new byte[0];
  private BlockMetrics.VolumeMeters meters;
  private String error = "";
  private ActorRef<BlockFrontend.Command> frontend;
  /** The frontend paused the migration; a new engine (after a restart) learns it on the next attach. */
  private boolean paused;
  /** Blocks of the target's writes applied to the source by this incarnation. */
  private long appliedBlocks;
  /** A pre-copy volume's source export and passes (null otherwise, and once cut over). */
  private PreCopyHost preCopy;
  /** The last passes' figures, kept for the status once the source's export closed. */
  private PreCopyMigration.Status preCopyLast;
  /** What the last (re)start did with the change set: read from the change log, or a full recopy and why. */
  private PreCopyLife.Recovery preCopyRecovery;
  /** The frontend whose sink the running passes write into, told how they end. */
  private ActorRef<BlockFrontend.Command> preCopyAsker;
  /** A later frontend's request while passes ran into an earlier one's sink: run them again into its sink. */
  private PreCopyCutOver preCopyNext;

  private BlockBackend(ActorContext<Command> ctx, VolumeId volume) {
    super(PersistenceId.ofUniqueId(persistenceId(volume)));
    this.ctx = ctx;
    this.volume = volume;
    this.resources = BlockResources.get(ctx.getSystem());
    this.control = resources.control();
  }

  @Override
  public State emptyState() {
    return new State(null, false, false);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Start.class, this::onStart)
        .onCommand(KnownHashes.class, (s, c) -> {
          if (engine != null) {
            engine.knownHashes(c.packedHashes());
          }
          return Effect().none();
        })
        .onCommand(Attach.class, this::onAttach)
        .onCommand(Fetch.class, (s, c) -> {
          if (engine != null) {
            engine.fetch(c.attachId(), c.blocks(), c.noRef());
          }
          return Effect().none();
        })
        .onCommand(Credit.class, (s, c) -> {
          if (engine != null) {
            engine.credit(c.attachId(), c.blocks());
          }
          return Effect().none();
        })
        .onCommand(FrontendComplete.class, (s, c) -> {
          if (engine != null) {
            engine.completed();
          }
          return Effect().none();
        })
        .onCommand(Release.class, (s, c) -> {
          if (keepsServingSource(s)) {
            closeCopy(); // aborted: the pre-copy workload keeps running at the source, through its export
          } else {
            closeEngine();
          }
          if (s.released()) {
            return Effect().none();
          }
          ctx.getLog().info("volume={} released: the source {} is closed and can be detached", volume, s.spec() == null ? "?" : s.spec().sourcePath());
          if (keepsServingSource(s) && PreCopyLife.cutOverStands(s.preCopy()) && (preCopy == null || !preCopy.converging())) {
            // Aborted while the request stood with no passes running: it ends with the migration.
            return Effect().persist(java.util.List.of(new PreCopyPassesFailed(System.currentTimeMillis(), "aborted: the cut-over request ended with the migration"), new Released()));
          }
          return Effect().persist(new Released());
        })
        .onCommand(PauseBackground.class, (s, c) -> {
          paused = c.paused();
          if (engine != null) {
            engine.paused(c.paused());
          }
          return Effect().none();
        })
        .onCommand(ApplyChanges.class, this::onApplyChanges)
        .onCommand(PreCopyCutOver.class, this::onPreCopyCutOver)
        .onCommand(PreCopyEnded.class, this::onPreCopyEnded)
        .onCommand(RecordPreCopy.class, (s, c) -> Effect().persist(c.opened()).thenRun(x -> exportPreCopy()))
        .onCommand(FrontendGone.class, (s, c) -> {
          ctx.getLog().info("volume={} frontend gone; waiting for it to attach again", volume);
          if (preCopy != null && preCopy.converging() && frontend != null && frontend.equals(preCopyAsker)) {
            // What the passes shipped into its sink may not reach the frontend that comes next: they
            // stop, and run again into that one's sink (the request stands).
            ctx.getLog().info("volume={} pre-copy: the frontend whose sink the passes write into is gone: stopping them", volume);
            preCopy.abandonPasses();
          }
          frontend = null;
          return Effect().none();
        })
        .onCommand(Stop.class, (s, c) -> {
          closeEngine();
          return Effect().persist(new Stopped()).thenRun(x -> c.replyTo().tell(Done.getInstance())).thenStop();
        })
        .onCommand(GetStatus.class, (s, c) -> {
          PreCopyLife.View view = s.spec() != null && s.spec().preCopy()
              ? PreCopyLife.view(s.preCopy(), preCopyRecovery == null ? PreCopyLife.recover(PreCopyLife.State.EMPTY) : preCopyRecovery,
                  preCopy != null ? preCopy.status() : preCopyLast)
              : null;
          // Once cut over the source refuses writes: its URL is no longer the workload's.
          String sourceUrl = preCopy == null || s.preCopy().phase() == PreCopyLife.Phase.CUT_OVER
              ? "" : "nbd://" + resources.nbdHost() + ":" + resources.nbdPort() + "/" + volume.value();
          c.replyTo().tell(new StatusReply(Optional.ofNullable(engine).map(BackendVolume::status), ctx.getSystem().address().toString(), error, view, sourceUrl));
          return Effect().none();
        })
        .build();
  }

  private Effect<Event, State> onStart(State state, Start start) {
    if (state.stopped() || state.released()) {
      return Effect().none();
    }
    if (state.spec() == null) {
      // As the frontend: serve at once, record it alongside.
      java.util.List<Event> events = new java.util.ArrayList<>();
      events.add(new Started(start.spec()));
      openPreCopy(start.spec(), PreCopyLife.State.EMPTY, events);
      openEngine(start.spec());
      preconnect(start);
      return Effect().persist(events).thenRun(x -> exportPreCopy());
    }
    if (engine == null && error.isEmpty()) {
      openEngine(state.spec());
    }
    preconnect(start);
    return Effect().none();
  }

  /**
   * Opens a pre-copy volume's source export for its workload before the background copy reads a
   * block (so every write after it is tracked), recorded; after a restart the change set is read
   * from its log next to the image (every block marked for the first pass if that log cannot be
   * read). Nothing once cut over: the target is the primary.
   */
  private void openPreCopy(VolumeSpec spec, PreCopyLife.State life, java.util.List<Event> events) {
    if (!spec.preCopy() || preCopy != null) {
      return;
    }
    PreCopyLife.Recovery r = PreCopyLife.recover(life);
    preCopyRecovery = r;
    if (!r.openExport()) {
      return;
    }
    try {
      preCopy = PreCopyHost.open(volume.value(), java.nio.file.Path.of(spec.sourcePath()), spec.blockSizeBytes(),
          PreCopyHost.Settings.from(ctx.getSystem().settings().config().getConfig("ferry.blocks.pre-copy")), r.restart());
      r = r.afterChangeLog(preCopy.changeLogRecovery());
      preCopyRecovery = r;
    } catch (IOException | RuntimeException e) {
      error = "pre-copy: the source cannot be exported for its workload: " + e.getMessage();
      ctx.getLog().error("volume={} {}", volume, error);
      return;
    }
    events.add(new PreCopyOpened(System.currentTimeMillis(), r.fullRecopy()));
  }

  /**
   * Serves the source's export once its opening is journaled: a restart then knows writes may
   * have been acknowledged, and reads their marks from the change log instead of starting empty.
   */
  private void exportPreCopy() {
    if (preCopy != null) {
      resources.exportPreCopy(volume.value(), preCopy.source());
      ctx.getLog().info("volume={} pre-copy: the workload's export at the source is nbd://{}:{}/{} ({})", volume, resources.nbdHost(), resources.nbdPort(), volume,
          preCopyRecovery == null ? "" : preCopyRecovery.reason());
    }
  }

  private Effect<Event, State> onPreCopyCutOver(State state, PreCopyCutOver c) {
    if (state.spec() == null || !state.spec().preCopy() || state.stopped()) {
      return Effect().none();
    }
    if (state.preCopy().phase() != PreCopyLife.Phase.CUT_OVER && preCopy == null) {
      ctx.getLog().warn("volume={} pre-copy cut-over asked, but the source's export is not open ({})", volume, error);
      return Effect().none();
    }
    return switch (PreCopyLife.ask(state.preCopy(), preCopy != null && preCopy.converging(), c.replyTo().equals(preCopyAsker))) {
      case ALREADY_CUT_OVER -> {
        control.tell(c.replyTo(), new BlockFrontend.PreCopyPassesEnded(true, false, "already cut over", state.preCopy().passes(), state.preCopy().pauseMillis()));
        yield Effect().none();
      }
      case REPEAT -> Effect().none();
      case REDIRECT -> {
        // The running passes write into a sink its frontend no longer serves: what they ship is not
        // this frontend's. Stopped; their end starts them again into this one's sink.
        ctx.getLog().info("volume={} pre-copy: a new frontend asks for the passes while they run into {}'s sink: stopping them, then into {}:{}/{}",
            volume, preCopyAsker, c.sinkHost(), c.sinkPort(), c.sinkExport());
        preCopyNext = c;
        preCopy.abandonPasses();
        yield Effect().none();
      }
      case START -> startPasses(state, c);
    };
  }

  private Effect<Event, State> startPasses(State state, PreCopyCutOver c) {
    if (!launchPasses(c)) {
      return Effect().none();
    }
    if (state.preCopy().phase() == PreCopyLife.Phase.TRACKING) {
      return Effect().persist(new PreCopyCutOverAsked(System.currentTimeMillis()));
    }
    return Effect().none();
  }

  /** Starts the passes into {@code c}'s sink; false if they run already. */
  private boolean launchPasses(PreCopyCutOver c) {
    ActorRef<Command> self = ctx.getSelf();
    PreCopyHost host = preCopy;
    if (host == null || !host.cutOver(c.sinkHost(), c.sinkPort(), c.sinkExport(), outcome -> self.tell(new PreCopyEnded(host, outcome)))) {
      return false;
    }
    preCopyAsker = c.replyTo();
    ctx.getLog().info("volume={} pre-copy cut-over: passes into {}:{}/{}", volume, c.sinkHost(), c.sinkPort(), c.sinkExport());
    return true;
  }

  private Effect<Event, State> onPreCopyEnded(State state, PreCopyEnded e) {
    e.host().endHandled();
    PreCopyMigration.Status st = e.outcome().status();
    preCopyLast = st;
    PreCopyCutOver next = preCopyNext;
    preCopyNext = null;
    if (!e.outcome().cutOver() && next != null && preCopy != null && !state.stopped()) {
      String why = "the passes into the sink of a frontend that went away were stopped (" + st.error() + "): the cut-over request stands, the passes run again into the new frontend's sink";
      ctx.getLog().info("volume={} {}: {}:{}/{}", volume, why, next.sinkHost(), next.sinkPort(), next.sinkExport());
      preCopyAsker = null;
      return Effect().persist(new PreCopyPassesBrokeOff(System.currentTimeMillis(), why)).thenRun(x -> launchPasses(next));
    }
    // The newest frontend that asked is the one to tell (an earlier one's member may be gone).
    ActorRef<BlockFrontend.Command> tell = next != null ? next.replyTo() : preCopyAsker;
    int passes = e.outcome().cutOver() ? st.passes().size() - 1 : st.passes().size(); // pass 0 is the background copy's
    long pauseMillis = e.outcome().cutOver() ? st.pauseNanos() / 1_000_000 : -1;
    PreCopyLife.Event ended = PreCopyLife.passesEnded(System.currentTimeMillis(), e.outcome().cutOver(), e.outcome().sinkLost(), st.error(), passes, pauseMillis);
    if (ended instanceof PreCopyLife.CutOverDone) {
      ctx.getLog().info("volume={} pre-copy cut over after {} passes, pause {} ms{}", volume, passes, pauseMillis,
          st.modeReason().isEmpty() ? "" : " (write-blocking: " + st.modeReason() + ")");
      BlockFrontend.PreCopyPassesEnded done = new BlockFrontend.PreCopyPassesEnded(true, false, "", passes, pauseMillis);
      return Effect().persist(new PreCopyCutOverDone(System.currentTimeMillis(), passes, pauseMillis))
          .thenRun(x -> tellEnded(tell, done, done));
    }
    if (ended instanceof PreCopyLife.PassesBrokeOff b) {
      ctx.getLog().warn("volume={} pre-copy passes broke off, the source stays the primary and the cut-over request stands: {}", volume, b.reason());
      return Effect().persist(new PreCopyPassesBrokeOff(b.atMillis(), b.reason()))
          .thenRun(x -> tellEnded(tell, new BlockFrontend.PreCopyPassesEnded(false, true, b.reason(), passes, -1), new BlockFrontend.PreCopyCutOverStands(b.reason(), false)));
    }
    ctx.getLog().warn("volume={} pre-copy passes failed, the source stays the primary: {}", volume, st.error());
    BlockFrontend.PreCopyPassesEnded failed = new BlockFrontend.PreCopyPassesEnded(false, false, st.error(), passes, -1);
    return Effect().persist(new PreCopyPassesFailed(System.currentTimeMillis(), st.error()))
        .thenRun(x -> tellEnded(tell, failed, failed));
  }

  /**
   * Tells the frontend that asked for the passes how they ended and, when another frontend attached
   * since (the asker restarted or moved), that one too ({@code toAttached}): it must not wait for an
   * answer meant for its predecessor (it finishes a cut-over, or asks for passes of its own).
   */
  private void tellEnded(ActorRef<BlockFrontend.Command> asker, BlockFrontend.PreCopyPassesEnded ended, BlockFrontend.Command toAttached) {
    if (asker != null) {
      control.tell(asker, ended);
    }
    if (frontend != null && !frontend.equals(asker)) {
      control.tell(frontend, toAttached);
    }
  }

  private Effect<Event, State> onAttach(State state, Attach a) {
    if (engine == null) {
      ctx.getLog().warn("volume={} attach={} refused: the source is not open ({})", volume, a.attachId(), error.isEmpty() ? "not started" : error);
      return Effect().none();
    }
    if (!a.frontend().equals(frontend)) {
      if (frontend != null) {
        ctx.unwatch(frontend);
      }
      frontend = a.frontend();
      ctx.watchWith(frontend, new FrontendGone());
    }
    if (preCopy != null && preCopy.converging() && preCopyAsker != null && !a.frontend().equals(preCopyAsker)) {
      // A new incarnation of the (single) frontend: the running passes write into its predecessor's sink.
      ctx.getLog().info("volume={} pre-copy: a new frontend attached while the passes write into its predecessor's sink: stopping them", volume);
      preCopy.abandonPasses();
    }
    ActorRef<BlockFrontend.Command> to = a.frontend();
    engine.attach(
        a.attachId(),
        new FrontendLink() {
          @Override
          public void attached(long attachId, long sizeBytes, int blockSizeBytes) {
            control.tell(to, new BlockFrontend.Attached(attachId, sizeBytes, blockSizeBytes, restKey));
          }

          @Override
          public void scanned(long attachId, BitSet zeroBlocks) {
            control.tell(to, new BlockFrontend.Scanned(attachId, zeroBlocks.toLongArray()));
          }
        },
        a.host(),
        a.port(),
        BitSet.valueOf(a.presentWords()),
        a.channelKey());
    if (state.spec() != null && state.spec().preCopy() && state.preCopy().phase() == PreCopyLife.Phase.CUT_OVER) {
      // The passes' answer may have died with the frontend's member: a frontend that attaches after
      // the source cut over learns it here and finishes the cut-over (the source refuses writes).
      control.tell(to, new BlockFrontend.PreCopyPassesEnded(true, false, "cut over before this frontend attached", state.preCopy().passes(), state.preCopy().pauseMillis()));
    } else if (state.spec() != null && state.spec().preCopy() && PreCopyLife.cutOverStands(state.preCopy())) {
      // The user's request is journaled here: a frontend that restarted (or moved) since has
      // forgotten it; it asks for the passes into its own sink once it holds every block.
      control.tell(to, new BlockFrontend.PreCopyCutOverStands(state.preCopy().lastError(), preCopy != null && preCopy.converging()));
    }
    return Effect().none();
  }

  /**
   * Writes shipped blocks into the source in place, forced, then confirms the part. Applying a
   * part twice (sent again after a reconnect) writes the same or newer bytes: the frontend ships
   * one shipment at a time, each with the target's bytes as of its sending.
   */
  private Effect<Event, State> onApplyChanges(State state, ApplyChanges a) {
    if (state.spec() == null || state.stopped()) {
      ctx.getLog().warn("volume={} shipment={} part={} refused: no source is served here", volume, a.shipment(), a.part());
      return Effect().none();
    }
    int blockSize = state.spec().blockSizeBytes();
    if ((long) a.blocks().length * blockSize != a.data().length) {
      ctx.getLog().error("volume={} shipment={} part={} carries {} bytes for {} blocks of {}: dropped", volume, a.shipment(), a.part(), a.data().length, a.blocks().length, blockSize);
      return Effect().none();
    }
    java.nio.file.Path path = java.nio.file.Path.of(state.spec().sourcePath());
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(path, java.nio.file.StandardOpenOption.WRITE)) {
      long size = java.nio.file.Files.isRegularFile(path) ? ch.size() : Long.MAX_VALUE;
      for (int i = 0; i < a.blocks().length; i++) {
        long offset = a.blocks()[i] * blockSize;
        // The last block of an image whose size is not a multiple of the block size is partial.
        int length = (int) Math.min(blockSize, size - offset);
        if (offset < 0 || length <= 0) {
          throw new IOException("block " + a.blocks()[i] + " is past the source's " + size + " bytes");
        }
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(a.data(), i * blockSize, length);
        long pos = offset;
        while (buf.hasRemaining()) {
          pos += ch.write(buf, pos);
        }
      }
      ch.force(false);
    } catch (IOException | RuntimeException e) {
      ctx.getLog().error("volume={} shipment={} part={} could not be written to {}: {}", volume, a.shipment(), a.part(), path, e.getMessage());
      return Effect().none(); // not confirmed: the frontend sends it again
    }
    appliedBlocks += a.blocks().length;
    if (engine != null) {
      engine.sourceChanged(a.blocks());
    }
    control.tell(a.replyTo(), new BlockFrontend.ChangesApplied(a.shipment(), a.part()));
    return Effect().none();
  }

  private void preconnect(Start start) {
    if (engine != null && !start.frontendHost().isEmpty() && start.frontendPort() > 0) {
      engine.preconnect(start.frontendHost(), start.frontendPort());
    }
  }

  private void openEngine(VolumeSpec spec) {
    try {
      // Read here, at the source site, and sent only over the cluster channel with each attach's answer.
      restKey = spec.encryptAtRest() ? resources.restKey(volume) : new byte[0];
      engine = new BackendVolume(spec, resources.settings(), resources.hotIndex(), resources::connect);
      meters = BlockMetrics.backend(FerryMetrics.get(ctx.getSystem()).registry(), volume, engine);
      engine.paused(paused);
      ctx.getLog().info("volume={} backend serving {} ({} bytes, blocks of {})", volume, spec.sourcePath(), engine.sizeBytes(), engine.blockSize());
      error = "";
    } catch (IOException | RuntimeException e) {
      error = e.getMessage();
      ctx.getLog().error("volume={} backend cannot open its source: {}", volume, e.getMessage());
    }
  }

  private void closeEngine() {
    closePreCopy();
    closeCopy();
  }

  /** Whether a released backend still serves a pre-copy volume's workload at the source (an abort, not a cut-over). */
  private static boolean keepsServingSource(State s) {
    return s.spec() != null && s.spec().preCopy() && !s.stopped() && PreCopyLife.servesAfterRelease(s.preCopy());
  }

  /** Closes the copy's side (the source read for the target), not a pre-copy workload's export. */
  private void closeCopy() {
    if (engine != null) {
      meters.close();
      engine.close();
      engine = null;
    }
  }

  /** Closes a pre-copy volume's source export (once cut over it refuses writes anyway). */
  private void closePreCopy() {
    if (preCopy != null) {
      resources.unexportPreCopy(volume.value(), preCopy.source());
      preCopy.close();
      preCopy = null;
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Started.class, (s, e) -> new State(e.spec(), false, false, s.preCopy()))
        .onEvent(Stopped.class, (s, e) -> new State(s.spec(), true, s.released(), s.preCopy()))
        .onEvent(Released.class, (s, e) -> new State(s.spec(), s.stopped(), true, s.preCopy()))
        .onEvent(PreCopyOpened.class, (s, e) -> new State(s.spec(), s.stopped(), s.released(), s.preCopy().apply(new PreCopyLife.Opened(e.atMillis(), e.recopyAll()))))
        .onEvent(PreCopyCutOverAsked.class, (s, e) -> new State(s.spec(), s.stopped(), s.released(), s.preCopy().apply(new PreCopyLife.CutOverRequested(e.atMillis()))))
        .onEvent(PreCopyPassesFailed.class, (s, e) -> new State(s.spec(), s.stopped(), s.released(), s.preCopy().apply(new PreCopyLife.PassesFailed(e.atMillis(), e.reason()))))
        .onEvent(PreCopyPassesBrokeOff.class, (s, e) -> new State(s.spec(), s.stopped(), s.released(), s.preCopy().apply(new PreCopyLife.PassesBrokeOff(e.atMillis(), e.reason()))))
        .onEvent(PreCopyCutOverDone.class, (s, e) -> new State(s.spec(), s.stopped(), s.released(), s.preCopy().apply(new PreCopyLife.CutOverDone(e.atMillis(), e.passes(), e.pauseMillis()))))
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> {
          if (s.spec() != null && !s.stopped() && (!s.released() || keepsServingSource(s))) {
            java.util.List<Event> events = new java.util.ArrayList<>();
            openPreCopy(s.spec(), s.preCopy(), events);
            for (Event e : events) {
              ctx.getSelf().tell(new RecordPreCopy((PreCopyOpened) e)); // openPreCopy records only its opening
            }
            if (!s.released()) {
              openEngine(s.spec());
            }
          }
        })
        .onSignal(PostStop.instance(), s -> closeEngine())
        .build();
  }
}
