package io.ferry.blocks;

import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import io.ferry.query.node.NodeLifecycle;
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
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The persistent frontend of one volume at its target site: a thin shell over {@link
 * FrontendVolume}, which serves the volume over NBD while blocks arrive. Which blocks are present
 * lives in the member's block store (durable as blocks are stored); the journal records the spec,
 * that the copy completed and that the migration stopped.
 */
public final class BlockFrontend extends EventSourcedBehavior<BlockFrontend.Command, BlockFrontend.Event, BlockFrontend.State> {

  public sealed interface Command extends CborSerializable {}

  /** Serve this volume (sent by the agent; repeated sends are harmless). */
  public record Start(VolumeSpec spec) implements Command {}

  /**
   * The volume's backend is (now) this actor: attach to it unless already attached. With the
   * source's size known ({@code sizeBytes} > 0) the volume is exported at once and its first
   * fetches travel right behind the Attach, not a round trip later.
   */
  public record UseBackend(ActorRef<BlockBackend.Command> backend, long sizeBytes) implements Command {}

  public record Attached(long attachId, long sizeBytes, int blockSizeBytes) implements Command {}

  public record Scanned(long attachId, long[] zeroWords) implements Command {}

  public record GetStatus(ActorRef<StatusReply> replyTo) implements Command {}

  public record Stop(ActorRef<Done> replyTo) implements Command {}

  /** The frontend's view: progress and figures, where the volume is exported, the phase. */
  public record StatusReply(
      Optional<FrontendVolume.FrontendStatus> status, String nbdUrl, String member, String phase, String error)
      implements CborSerializable {}

  private record Tick() implements Command {}

  private record CopyDone() implements Command {}

  private record BackendGone() implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record Started(VolumeSpec spec) implements Event {}

  public record CopyCompleted() implements Event {}

  public record Stopped() implements Event {}

  public record State(VolumeSpec spec, boolean complete, boolean stopped) implements CborSerializable {
    String phase() {
      return stopped ? "STOPPED" : complete ? "COPIED" : spec == null ? "NEW" : "COPYING";
    }
  }

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
  private FrontendVolume core;
  private BlockMetrics.VolumeMeters meters;
  private ActorRef<BlockBackend.Command> backend;
  private ActorRef<BlockBackend.Command> hashesSentTo;
  private long pendingAttach = -1;
  private long lastProgressLogNanos;
  private String instance = "";

  private BlockFrontend(ActorContext<Command> ctx, TimerScheduler<Command> timers, VolumeId volume) {
    super(PersistenceId.ofUniqueId(persistenceId(volume)));
    this.ctx = ctx;
    this.timers = timers;
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
        .onCommand(UseBackend.class, this::onUseBackend)
        .onCommand(Attached.class, this::onAttached)
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
        .onCommand(Tick.class, this::onTick)
        .onCommand(CopyDone.class, (s, c) -> {
          if (s.complete()) {
            return Effect().none();
          }
          return Effect().persist(new CopyCompleted()).thenRun(x -> {
            if (backend != null && core != null) {
              control.tell(backend, new BlockBackend.FrontendComplete(core.attachId()));
            }
          });
        })
        .onCommand(BackendGone.class, (s, c) -> {
          ctx.getLog().info("volume={} backend gone; waiting for its replacement", volume);
          backend = null;
          hashesSentTo = null;
          if (core != null) {
            core.detach();
          }
          return Effect().none();
        })
        .onCommand(GetStatus.class, (s, c) -> {
          c.replyTo().tell(
              new StatusReply(
                  Optional.ofNullable(core).filter(FrontendVolume::hasGeometry).map(FrontendVolume::status),
                  resources.nbdUrl(volume),
                  ctx.getSystem().address().toString(),
                  s.phase(),
                  ""));
          return Effect().none();
        })
        .onCommand(Stop.class, (s, c) -> {
          closeCore();
          return Effect().persist(new Stopped()).thenRun(x -> c.replyTo().tell(Done.getInstance())).thenStop();
        })
        .build();
  }

  private Effect<Event, State> onStart(State state, Start start) {
    if (state.stopped()) {
      return Effect().none();
    }
    if (state.spec() == null) {
      // Serve at once; the event only records that this volume is ours (a lost one is made
      // good by the registry's next Start), so the first byte does not wait for the journal.
      openCore();
      return Effect().persist(new Started(start.spec()));
    }
    return Effect().none();
  }

  private Effect<Event, State> onUseBackend(State state, UseBackend c) {
    if (core == null || state.stopped() || state.spec() == null) {
      return Effect().none();
    }
    if (c.backend().equals(backend) && (pendingAttach >= 0 || core.attachId() != 0)) {
      return Effect().none();
    }
    if (c.sizeBytes() > 0 && !core.hasGeometry()) {
      try {
        core.geometry(c.sizeBytes(), state.spec().blockSizeBytes());
        resources.export(volume, core);
      } catch (IOException | RuntimeException e) {
        ctx.getLog().warn("volume={} cannot export ahead of the backend's answer: {}", volume, e.getMessage());
      }
    }
    if (backend != null) {
      ctx.unwatch(backend);
    }
    backend = c.backend();
    ctx.watchWith(backend, new BackendGone());
    attach();
    return Effect().none();
  }

  /** Tells the backend what the target holds, under a new attachment id. */
  private void attach() {
    if (hashesSentTo == null || !hashesSentTo.equals(backend)) {
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
      hashesSentTo = backend;
    }
    pendingAttach = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    BitSet present = core.hasGeometry() ? core.present() : new BitSet();
    control.tell(backend, new BlockBackend.Attach(pendingAttach, ctx.getSelf(), resources.dataHost(), resources.dataPort(), present.toLongArray()));
    if (core.hasGeometry()) {
      // Fetches may follow the Attach at once: control messages to the backend keep their order.
      core.attach(backendLink(backend), pendingAttach);
    }
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

  private Effect<Event, State> onAttached(State state, Attached a) {
    if (core == null || a.attachId() != pendingAttach || backend == null) {
      return Effect().none();
    }
    try {
      core.geometry(a.sizeBytes(), a.blockSizeBytes());
    } catch (IOException | RuntimeException e) {
      ctx.getLog().error("volume={} cannot take the source's geometry: {}", volume, e.getMessage());
      return Effect().none();
    }
    if (core.attachId() != a.attachId()) {
      core.attach(backendLink(backend), a.attachId());
    }
    pendingAttach = -1;
    resources.export(volume, core);
    ctx.getLog().info("volume={} attached ({} bytes, blocks of {}); exported at {}", volume, a.sizeBytes(), a.blockSizeBytes(), resources.nbdUrl(volume));
    if (state.complete() && backend != null) {
      control.tell(backend, new BlockBackend.FrontendComplete(a.attachId()));
    }
    return Effect().none();
  }

  private Effect<Event, State> onTick(State state, Tick t) {
    if (core == null) {
      return Effect().none();
    }
    boolean stalled = core.tick();
    if (stalled && pendingAttach < 0 && backend != null) {
      ctx.getLog().info("volume={} background copy stalled; attaching again", volume);
      attach();
    }
    long now = System.nanoTime();
    if (core.hasGeometry() && !state.complete() && now - lastProgressLogNanos > resources.settings().progressLogInterval().toNanos()) {
      lastProgressLogNanos = now;
      FrontendVolume.FrontendStatus st = core.status();
      ctx.getLog().info("volume={} progress {}% ({}/{} blocks) {}", volume, String.format("%.1f", st.percent()), st.blocksPresent(), st.blockCount(), st.transfer());
    }
    return Effect().none();
  }

  private void openCore() {
    if (core != null) {
      return;
    }
    core = new FrontendVolume(volume, resources.store(), resources.settings(), resources.ioPool(), System::nanoTime, () -> ctx.getSelf().tell(new CopyDone()));
    resources.registerFrontend(volume, core);
    meters = BlockMetrics.frontend(FerryMetrics.get(ctx.getSystem()).registry(), volume, core);
    instance = ctx.getSystem().address() + "#" + java.util.UUID.randomUUID();
    NodeLifecycle.publish(lifecycleId(volume), instance, ctx.getSystem().address().toString(), true);
    Duration tick = resources.settings().fetchTimeout().dividedBy(4);
    timers.startTimerWithFixedDelay(new Tick(), tick.isZero() ? Duration.ofMillis(1) : tick);
  }

  private void closeCore() {
    if (core != null) {
      resources.unregisterFrontend(volume, core);
      meters.close();
      core = null;
      NodeLifecycle.publish(lifecycleId(volume), instance, ctx.getSystem().address().toString(), false);
    }
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
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Started.class, (s, e) -> new State(e.spec(), false, false))
        .onEvent(CopyCompleted.class, (s, e) -> new State(s.spec(), true, s.stopped()))
        .onEvent(Stopped.class, (s, e) -> new State(s.spec(), s.complete(), true))
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> {
          if (s.spec() != null && !s.stopped()) {
            openCore();
          }
        })
        .onSignal(PostStop.instance(), s -> closeCore())
        .build();
  }
}
