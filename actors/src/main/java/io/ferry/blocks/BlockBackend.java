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

  public sealed interface Event extends CborSerializable {}

  public record Started(VolumeSpec spec) implements Event {}

  public record Stopped() implements Event {}

  public record State(VolumeSpec spec, boolean stopped) implements CborSerializable {}

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

  private BlockBackend(ActorContext<Command> ctx, VolumeId volume) {
    super(PersistenceId.ofUniqueId(persistenceId(volume)));
    this.ctx = ctx;
    this.volume = volume;
    this.resources = BlockResources.get(ctx.getSystem());
    this.control = resources.control();
  }

  @Override
  public State emptyState() {
    return new State(null, false);
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
    if (state.stopped()) {
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
        .onEvent(Started.class, (s, e) -> new State(e.spec(), false))
        .onEvent(Stopped.class, (s, e) -> new State(s.spec(), true))
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> {
          if (s.spec() != null && !s.stopped()) {
            openEngine(s.spec());
          }
        })
        .onSignal(PostStop.instance(), s -> closeEngine())
        .build();
  }
}
