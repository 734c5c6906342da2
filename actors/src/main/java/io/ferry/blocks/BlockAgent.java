package io.ferry.blocks;

import io.ferry.persistence.CborSerializable;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * One per member: starts the backends and frontends of volumes the volume registry places on this
 * member, as its children, and stops them. Registered with the receptionist so the registry finds
 * every member able to host them. Ensure messages are idempotent; the registry repeats them.
 */
public final class BlockAgent {

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "ferry-block-agent");

  public sealed interface Command extends CborSerializable {}

  /** Starts the backend; {@code frontendHost:frontendPort} is where its frontend will receive blocks, if known ("" / 0 if not). */
  public record EnsureBackend(VolumeSpec spec, String frontendHost, int frontendPort, ActorRef<BackendAt> replyTo) implements Command {}

  /** Asks for the UDP endpoint this member receives block data on. */
  public record GetEndpoint(ActorRef<Endpoint> replyTo) implements Command {}

  public record Endpoint(ActorRef<Command> agent, String host, int port) implements CborSerializable {}

  /**
   * Starts the frontend; tells it its backend when {@code backend} is known (not null), and the
   * source's size when known ({@code sizeBytes} > 0), so it can export before the backend answers.
   */
  public record EnsureFrontend(VolumeSpec spec, ActorRef<BlockBackend.Command> backend, long sizeBytes, ActorRef<FrontendAt> replyTo) implements Command {}

  /** Stops the volume's backend or frontend here, if any, and records that its migration stopped. */
  public record StopVolume(VolumeId volume, ActorRef<Done> replyTo) implements Command {}

  /** Where the backend runs, and the source's size as this member sees it (-1 when it cannot be read). */
  public record BackendAt(VolumeId volume, ActorRef<BlockBackend.Command> backend, long sizeBytes, ActorRef<Command> agent) implements CborSerializable {}

  public record FrontendAt(VolumeId volume, ActorRef<BlockFrontend.Command> frontend, ActorRef<Command> agent) implements CborSerializable {}

  /**
   * Starts the mirror (the second frontend) of a clustered volume here. A frontend of the volume
   * running here is stopped first (the mirror starts empty: see {@link MirrorVolume}); the
   * registry's next Ensure then starts the mirror.
   */
  public record EnsureMirror(VolumeSpec spec, ActorRef<MirrorAt> replyTo) implements Command {}

  /** Asks whether this member runs the volume's frontend or mirror (a registry that starts afresh finds them so). */
  public record Holds(VolumeId volume, ActorRef<HoldsAt> replyTo) implements Command {}

  public record HoldsAt(VolumeId volume, ActorRef<Command> agent, boolean frontend, boolean mirror) implements CborSerializable {}

  private record MirrorStopped(ActorRef<Void> mirror, EnsureFrontend then) implements Command {}

  public record MirrorAt(VolumeId volume, ActorRef<BlockMirror.Command> mirror, ActorRef<Command> agent) implements CborSerializable {}

  public static Behavior<Command> create() {
    return Behaviors.setup(
        ctx -> {
          if (ctx.getSystem().settings().config().getBoolean("ferry.blocks.start-eagerly")) {
            // The Aeron driver, store and NBD server start with the member, not with the first
            // volume: a migration's first byte does not wait for them.
            try {
              BlockResources.get(ctx.getSystem());
            } catch (RuntimeException e) {
              ctx.getLog().error("block resources could not start; volumes placed on this member will fail to start: {}", e.getMessage(), e);
            }
          }
          ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
          // Mirrors stopping so that a frontend can take their store here.
          java.util.Set<ActorRef<Void>> promoting = new java.util.HashSet<>();
          return Behaviors.receive(Command.class)
              .onMessage(EnsureBackend.class, m -> {
                ActorRef<BlockBackend.Command> b = backend(ctx, m.spec().volume());
                b.tell(new BlockBackend.Start(m.spec(), m.frontendHost(), m.frontendPort()));
                m.replyTo().tell(new BackendAt(m.spec().volume(), b, sizeOf(m.spec().sourcePath()), ctx.getSelf()));
                return Behaviors.same();
              })
              .onMessage(EnsureFrontend.class, m -> {
                Optional<ActorRef<Void>> mirror = ctx.getChild(mirrorName(m.spec().volume()));
                if (mirror.isPresent()) {
                  // Promotion: the mirror closes its change log (on stop) before the frontend opens
                  // the same log and store here; this Ensure is handled again once it stopped.
                  if (promoting.add(mirror.get())) {
                    ctx.getLog().info("volume={} the mirror here becomes the frontend", m.spec().volume());
                    ctx.watchWith(mirror.get(), new MirrorStopped(mirror.get(), m));
                    ctx.stop(mirror.get());
                  }
                  return Behaviors.same();
                }
                ActorRef<BlockFrontend.Command> f = frontend(ctx, m.spec().volume());
                f.tell(new BlockFrontend.Start(m.spec()));
                if (m.backend() != null) {
                  f.tell(new BlockFrontend.UseBackend(m.backend(), m.sizeBytes()));
                }
                m.replyTo().tell(new FrontendAt(m.spec().volume(), f, ctx.getSelf()));
                return Behaviors.same();
              })
              .onMessage(Holds.class, m -> {
                m.replyTo().tell(new HoldsAt(m.volume(), ctx.getSelf(), ctx.getChild(frontendName(m.volume())).isPresent(), ctx.getChild(mirrorName(m.volume())).isPresent()));
                return Behaviors.same();
              })
              .onMessage(MirrorStopped.class, m -> {
                promoting.remove(m.mirror());
                ctx.getSelf().tell(m.then());
                return Behaviors.same();
              })
              .onMessage(EnsureMirror.class, m -> {
                VolumeId v = m.spec().volume();
                Optional<ActorRef<Void>> f = ctx.getChild(frontendName(v));
                if (f.isPresent()) {
                  ctx.getLog().info("volume={} the frontend here stops: this member is to hold the volume's mirror", v);
                  ctx.stop(f.get());
                  return Behaviors.same();
                }
                m.replyTo().tell(new MirrorAt(v, mirror(ctx, v), ctx.getSelf()));
                return Behaviors.same();
              })
              .onMessage(GetEndpoint.class, m -> {
                try {
                  BlockResources r = BlockResources.get(ctx.getSystem());
                  m.replyTo().tell(new Endpoint(ctx.getSelf(), r.dataHost(), r.dataPort()));
                } catch (RuntimeException e) {
                  ctx.getLog().warn("no block endpoint to report: {}", e.getMessage());
                }
                return Behaviors.same();
              })
              .onMessage(StopVolume.class, m -> {
                Optional<ActorRef<Void>> b = ctx.getChild(backendName(m.volume()));
                Optional<ActorRef<Void>> f = ctx.getChild(frontendName(m.volume()));
                // Stop persists Stopped, so a member that restarts does not serve the volume again.
                backend(ctx, m.volume()).tell(new BlockBackend.Stop(ctx.getSystem().ignoreRef()));
                frontend(ctx, m.volume()).tell(new BlockFrontend.Stop(ctx.getSystem().ignoreRef()));
                ctx.getChild(mirrorName(m.volume())).ifPresent(ctx::stop);
                ctx.getLog().info("volume={} stopping (backend here: {}, frontend here: {})", m.volume(), b.isPresent(), f.isPresent());
                m.replyTo().tell(Done.getInstance());
                return Behaviors.same();
              })
              .build();
        });
  }

  @SuppressWarnings("unchecked")
  private static ActorRef<BlockBackend.Command> backend(ActorContext<Command> ctx, VolumeId v) {
    String name = backendName(v);
    return ctx.getChild(name)
        .map(r -> (ActorRef<BlockBackend.Command>) (ActorRef<?>) r)
        .orElseGet(() -> ctx.spawn(Behaviors.supervise(BlockBackend.create(v)).onFailure(SupervisorStrategy.restart()), name));
  }

  @SuppressWarnings("unchecked")
  private static ActorRef<BlockFrontend.Command> frontend(ActorContext<Command> ctx, VolumeId v) {
    String name = frontendName(v);
    return ctx.getChild(name)
        .map(r -> (ActorRef<BlockFrontend.Command>) (ActorRef<?>) r)
        .orElseGet(() -> ctx.spawn(Behaviors.supervise(BlockFrontend.create(v)).onFailure(SupervisorStrategy.restart()), name));
  }

  @SuppressWarnings("unchecked")
  private static ActorRef<BlockMirror.Command> mirror(ActorContext<Command> ctx, VolumeId v) {
    String name = mirrorName(v);
    // Not restarted on failure: a mirror that failed holds what it held, and a new one (a new
    // reference, so the primary sends everything again) starts on the registry's next Ensure.
    return ctx.getChild(name)
        .map(r -> (ActorRef<BlockMirror.Command>) (ActorRef<?>) r)
        .orElseGet(() -> ctx.spawn(BlockMirror.create(v), name));
  }

  static String mirrorName(VolumeId v) {
    return "mirror-" + v.value();
  }

  private static long sizeOf(String path) {
    try {
      // A block device reports 0 here: the frontend then learns the size from the backend.
      return java.nio.file.Files.size(java.nio.file.Path.of(path));
    } catch (java.io.IOException | RuntimeException e) {
      return -1; // the backend reports why when it opens the source
    }
  }

  static String backendName(VolumeId v) {
    return "backend-" + v.value();
  }

  static String frontendName(VolumeId v) {
    return "frontend-" + v.value();
  }
}
