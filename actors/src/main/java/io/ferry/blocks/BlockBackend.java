package io.ferry.blocks;

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

  public record StatusReply(Optional<BackendVolume.BackendStatus> status, String member, String error) implements CborSerializable {}

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

  public sealed interface Event extends CborSerializable {}

  public record Started(VolumeSpec spec) implements Event {}

  public record Stopped() implements Event {}

  public record Released() implements Event {}

  public record State(VolumeSpec spec, boolean stopped, boolean released) implements CborSerializable {}

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
          closeEngine();
          if (s.released()) {
            return Effect().none();
          }
          ctx.getLog().info("volume={} released: the source {} is closed and can be detached", volume, s.spec() == null ? "?" : s.spec().sourcePath());
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
        .onCommand(FrontendGone.class, (s, c) -> {
          ctx.getLog().info("volume={} frontend gone; waiting for it to attach again", volume);
          frontend = null;
          return Effect().none();
        })
        .onCommand(Stop.class, (s, c) -> {
          closeEngine();
          return Effect().persist(new Stopped()).thenRun(x -> c.replyTo().tell(Done.getInstance())).thenStop();
        })
        .onCommand(GetStatus.class, (s, c) -> {
          c.replyTo().tell(new StatusReply(Optional.ofNullable(engine).map(BackendVolume::status), ctx.getSystem().address().toString(), error));
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
      openEngine(start.spec());
      preconnect(start);
      return Effect().persist(new Started(start.spec()));
    }
    if (engine == null && error.isEmpty()) {
      openEngine(state.spec());
    }
    preconnect(start);
    return Effect().none();
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
    if (engine != null) {
      meters.close();
      engine.close();
      engine = null;
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Started.class, (s, e) -> new State(e.spec(), false, false))
        .onEvent(Stopped.class, (s, e) -> new State(s.spec(), true, s.released()))
        .onEvent(Released.class, (s, e) -> new State(s.spec(), s.stopped(), true))
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> {
          if (s.spec() != null && !s.stopped() && !s.released()) {
            openEngine(s.spec());
          }
        })
        .onSignal(PostStop.instance(), s -> closeEngine())
        .build();
  }
}
