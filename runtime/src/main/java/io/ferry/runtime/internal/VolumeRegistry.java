package io.ferry.runtime.internal;

import io.ferry.blocks.BlockAgent;
import io.ferry.blocks.BlockBackend;
import io.ferry.blocks.BlockFrontend;
import io.ferry.blocks.BlockMirror;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeRoster;
import io.ferry.blocks.VolumeSpec;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * The volume registry: a persistent cluster singleton that records volume migrations and keeps,
 * for each running one, a backend on a live member of the source site and a frontend on a live
 * member of the target site (through each member's {@link BlockAgent}), telling the frontend where
 * its backend is. A member that dies has its part started again on another member of its site (or
 * on the same member when it comes back: the frontend's blocks live in that member's store).
 * Whether a start or a stop is accepted is {@link VolumeRoster}'s to decide; a volume's phases
 * (attaching, copying, copied, stopped) are its frontend's {@link io.ferry.blocks.VolumeMigration}.
 */
public final class VolumeRegistry extends EventSourcedBehavior<VolumeRegistry.Command, VolumeRegistry.Event, VolumeRoster> {

  public sealed interface Command extends CborSerializable {}

  public record StartVolume(VolumeSpec spec, ActorRef<Reply> replyTo) implements Command {}

  public record StopVolume(VolumeId volume, ActorRef<Reply> replyTo) implements Command {}

  public record GetVolumes(ActorRef<Volumes> replyTo) implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Accepted(VolumeId volume, String backendMember, String frontendMember) implements Reply {}

  public record Refused(String reason) implements Reply {}

  public record Volumes(List<VolumeInfo> volumes) implements CborSerializable {}

  /** One running volume migration: what was asked, where its two halves run now. */
  public record VolumeInfo(
      VolumeSpec spec,
      Optional<ActorRef<BlockBackend.Command>> backend,
      Optional<ActorRef<BlockFrontend.Command>> frontend,
      String backendMember,
      String frontendMember)
      implements CborSerializable {}

  private record AgentsChanged(Receptionist.Listing listing) implements Command {}

  private record Tick() implements Command {}

  private record BackendPlaced(BlockAgent.BackendAt at) implements Command {}

  private record FrontendPlaced(BlockAgent.FrontendAt at) implements Command {}

  private record EndpointKnown(BlockAgent.Endpoint endpoint) implements Command {}

  private record MirrorPlaced(BlockAgent.MirrorAt at) implements Command {}

  private record HoldsKnown(BlockAgent.HoldsAt at) implements Command {}

  /** Registry ticks a probe for a clustered volume's halves waits for answers at most. */
  private static final int PROBE_TICKS_MAX = 2;

  public sealed interface Event extends CborSerializable {}

  public record VolumeStarted(VolumeSpec spec) implements Event {}

  public record VolumeStopped(VolumeId volume) implements Event {}

  private static final class Placed {
    ActorRef<BlockAgent.Command> backendAgent;
    ActorRef<BlockBackend.Command> backend;
    ActorRef<BlockAgent.Command> frontendAgent;
    ActorRef<BlockFrontend.Command> frontend;
    long sizeBytes = -1;
    // A clustered volume's second frontend: on another member of the target site.
    ActorRef<BlockAgent.Command> mirrorAgent;
    ActorRef<BlockMirror.Command> mirror;
    // Where a clustered volume's frontend and mirror already run, asked before placing them.
    boolean probed;
    int probeAsked;
    int probeAnswered;
    int probeTicks;
  }

  public static Behavior<Command> create(Duration tick) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new VolumeRegistry(ctx, timers, tick)));
  }

  private final ActorContext<Command> ctx;
  private final Map<VolumeId, Placed> placed = new HashMap<>();
  private Set<ActorRef<BlockAgent.Command>> agents = Set.of();
  private final Map<ActorRef<BlockAgent.Command>, BlockAgent.Endpoint> endpoints = new HashMap<>();
  // The agents' answers, adapted once (not on every tick of every volume).
  private final ActorRef<BlockAgent.Endpoint> endpointReply;
  private final ActorRef<BlockAgent.BackendAt> backendReply;
  private final ActorRef<BlockAgent.FrontendAt> frontendReply;
  private final ActorRef<BlockAgent.MirrorAt> mirrorReply;
  private final ActorRef<BlockAgent.HoldsAt> holdsReply;

  private VolumeRegistry(ActorContext<Command> ctx, TimerScheduler<Command> timers, Duration tick) {
    super(PersistenceId.ofUniqueId("ferry-volume-registry"));
    this.ctx = ctx;
    ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, AgentsChanged::new);
    this.endpointReply = ctx.messageAdapter(BlockAgent.Endpoint.class, EndpointKnown::new);
    this.backendReply = ctx.messageAdapter(BlockAgent.BackendAt.class, BackendPlaced::new);
    this.frontendReply = ctx.messageAdapter(BlockAgent.FrontendAt.class, FrontendPlaced::new);
    this.mirrorReply = ctx.messageAdapter(BlockAgent.MirrorAt.class, MirrorPlaced::new);
    this.holdsReply = ctx.messageAdapter(BlockAgent.HoldsAt.class, HoldsKnown::new);
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(BlockAgent.KEY, listings));
    timers.startTimerWithFixedDelay(new Tick(), tick);
  }

  @Override
  public VolumeRoster emptyState() {
    return VolumeRoster.empty();
  }

  @Override
  public CommandHandler<Command, Event, VolumeRoster> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(StartVolume.class, this::onStart)
        .onCommand(StopVolume.class, this::onStop)
        .onCommand(GetVolumes.class, (s, c) -> {
          c.replyTo().tell(new Volumes(infos(s)));
          return Effect().none();
        })
        .onCommand(AgentsChanged.class, (s, c) -> {
          agents = c.listing().getServiceInstances(BlockAgent.KEY);
          endpoints.keySet().retainAll(agents);
          agents.stream().filter(a -> !endpoints.containsKey(a)).forEach(a -> a.tell(new BlockAgent.GetEndpoint(endpointReply)));
          ensureAll(s);
          return Effect().none();
        })
        .onCommand(EndpointKnown.class, (s, c) -> {
          if (agents.contains(c.endpoint().agent())) {
            endpoints.put(c.endpoint().agent(), c.endpoint());
          }
          return Effect().none();
        })
        .onCommand(Tick.class, (s, c) -> {
          ensureAll(s);
          return Effect().none();
        })
        .onCommand(BackendPlaced.class, (s, c) -> {
          VolumeSpec spec = s.running().get(c.at().volume());
          if (spec == null) {
            return Effect().none();
          }
          Placed p = placed.computeIfAbsent(spec.volume(), k -> new Placed());
          if (!c.at().agent().equals(p.backendAgent)) {
            return Effect().none(); // an answer from an agent the volume has since left
          }
          p.backend = c.at().backend();
          p.sizeBytes = c.at().sizeBytes();
          ensureFrontend(spec, p);
          return Effect().none();
        })
        .onCommand(FrontendPlaced.class, (s, c) -> {
          Placed p = placed.get(c.at().volume());
          if (p != null && c.at().agent().equals(p.frontendAgent)) {
            p.frontend = c.at().frontend();
            VolumeSpec spec = s.running().get(c.at().volume());
            if (spec != null && spec.clustered()) {
              tellMirror(p);
            }
          }
          return Effect().none();
        })
        .onCommand(HoldsKnown.class, (s, c) -> {
          VolumeSpec spec = s.running().get(c.at().volume());
          Placed p = placed.get(c.at().volume());
          if (spec == null || p == null || p.probed) {
            return Effect().none();
          }
          p.probeAnswered++;
          if (c.at().frontend() && p.frontendAgent == null) {
            p.frontendAgent = c.at().agent();
            ctx.getLog().info("volume={} frontend found running at {}", spec.volume(), memberOf(c.at().agent()));
          } else if (c.at().mirror() && p.mirrorAgent == null) {
            p.mirrorAgent = c.at().agent();
            ctx.getLog().info("volume={} mirror found running at {}", spec.volume(), memberOf(c.at().agent()));
          }
          if (p.probeAnswered >= p.probeAsked) {
            p.probed = true;
            ensure(spec);
          }
          return Effect().none();
        })
        .onCommand(MirrorPlaced.class, (s, c) -> {
          Placed p = placed.get(c.at().volume());
          if (p != null && c.at().agent().equals(p.mirrorAgent) && !c.at().mirror().equals(p.mirror)) {
            p.mirror = c.at().mirror();
            tellMirror(p);
          }
          return Effect().none();
        })
        .build();
  }

  private Effect<Event, VolumeRoster> onStart(VolumeRoster s, StartVolume c) {
    // (validation first: nothing starts for a refused volume)
    VolumeSpec spec = c.spec();
    VolumeId v = spec.volume();
    Optional<String> refused = s.refuseStart(spec, sites().stream().map(Site::of).collect(Collectors.toSet()));
    if (refused.isPresent()) {
      return refuse(c.replyTo(), refused.get());
    }
    Optional<ActorRef<BlockAgent.Command>> source = agentAt(spec.sourceSite().name(), null);
    Optional<ActorRef<BlockAgent.Command>> target = agentAt(spec.targetSite().name(), null);
    // The parts start while the event is written: the first byte should not wait for the journal.
    // Should the write fail, the caller gets no answer and starts again; the agents' Ensure is
    // idempotent, so the parts already running are simply found.
    ensure(spec);
    return Effect()
        .persist(new VolumeStarted(spec))
        .thenRun(
            st -> {
              ctx.getLog().info("volume={} migration started: {} at site {} -> site {}", v, spec.sourcePath(), spec.sourceSite(), spec.targetSite());
              c.replyTo().tell(new Accepted(v, source.map(this::memberOf).orElse(""), target.map(this::memberOf).orElse("")));
            });
  }

  private Effect<Event, VolumeRoster> onStop(VolumeRoster s, StopVolume c) {
    Optional<String> refused = s.refuseStop(c.volume());
    if (refused.isPresent()) {
      return refuse(c.replyTo(), refused.get());
    }
    return Effect()
        .persist(new VolumeStopped(c.volume()))
        .thenRun(
            st -> {
              Placed p = placed.remove(c.volume());
              // Every agent hears it: a part may run on a member the registry lost track of.
              for (ActorRef<BlockAgent.Command> a : agents) {
                a.tell(new BlockAgent.StopVolume(c.volume(), ctx.getSystem().ignoreRef()));
              }
              ctx.getLog().info("volume={} migration stopped (was at {} / {})", c.volume(),
                  p == null || p.backendAgent == null ? "-" : memberOf(p.backendAgent),
                  p == null || p.frontendAgent == null ? "-" : memberOf(p.frontendAgent));
              c.replyTo().tell(new Accepted(c.volume(), "", ""));
            });
  }

  private Effect<Event, VolumeRoster> refuse(ActorRef<Reply> to, String reason) {
    to.tell(new Refused(reason));
    return Effect().none();
  }

  private void ensureAll(VolumeRoster s) {
    s.running().values().forEach(this::ensure);
  }

  /** Keeps the backend placed and started, then (on its answer) the frontend. */
  private void ensure(VolumeSpec spec) {
    Placed p = placed.computeIfAbsent(spec.volume(), k -> new Placed());
    Optional<ActorRef<BlockAgent.Command>> b = agentAt(spec.sourceSite().name(), p.backendAgent);
    if (b.isEmpty()) {
      // No live member at the source site. The frontend is still kept started: a target member
      // restarted meanwhile reopens what its store holds, serves it, or (a volume kept encrypted
      // at rest, whose key lives at the source) says why it cannot. It hears of a backend when
      // one is back; the size it was last told stays until a backend reports one again.
      if (p.backendAgent != null && !agents.contains(p.backendAgent)) {
        p.backendAgent = null;
        p.backend = null;
      }
      ensureFrontend(spec, p);
      return;
    }
    if (!b.get().equals(p.backendAgent)) {
      if (p.backendAgent != null) {
        ctx.getLog().info("volume={} backend moves from {} to {}", spec.volume(), memberOf(p.backendAgent), memberOf(b.get()));
      }
      p.backendAgent = b.get();
      p.backend = null;
      p.sizeBytes = -1;
    }
    // Where the frontend will receive blocks, if known: the backend sets the link up ahead of time.
    Optional<BlockAgent.Endpoint> target = agentAt(spec.targetSite().name(), p.frontendAgent).map(endpoints::get);
    p.backendAgent.tell(new BlockAgent.EnsureBackend(spec, target.map(BlockAgent.Endpoint::host).orElse(""), target.map(BlockAgent.Endpoint::port).orElse(0), backendReply));
    // The frontend starts (and recovers) alongside the backend; it learns where its backend is
    // from the EnsureFrontend that follows the backend's answer.
    ensureFrontend(spec, p);
  }

  private void ensureFrontend(VolumeSpec spec, Placed p) {
    if (spec.clustered() && p.frontendAgent == null && !p.probed && probing(spec, p)) {
      return;
    }
    Optional<ActorRef<BlockAgent.Command>> f = agentAt(spec.targetSite().name(), p.frontendAgent);
    if (spec.clustered() && f.isPresent() && !f.get().equals(p.frontendAgent) && p.mirrorAgent != null
        && agentAt(spec.targetSite().name(), p.mirrorAgent).filter(p.mirrorAgent::equals).isPresent()) {
      // The primary's member is gone: the mirror's member holds every acknowledged write.
      ctx.getLog().info("volume={} frontend {} lost: its mirror at {} becomes the frontend", spec.volume(),
          p.frontendAgent == null ? "-" : memberOf(p.frontendAgent), memberOf(p.mirrorAgent));
      f = Optional.of(p.mirrorAgent);
      p.mirrorAgent = null;
      p.mirror = null;
    }
    if (f.isEmpty()) {
      return;
    }
    if (!f.get().equals(p.frontendAgent)) {
      if (p.frontendAgent != null) {
        ctx.getLog().info("volume={} frontend moves from {} to {}", spec.volume(), memberOf(p.frontendAgent), memberOf(f.get()));
      }
      p.frontendAgent = f.get();
      p.frontend = null;
    }
    p.frontendAgent.tell(new BlockAgent.EnsureFrontend(spec, p.backend, p.sizeBytes, frontendReply));
    if (spec.clustered()) {
      ensureMirror(spec, p);
    }
  }

  /**
   * Keeps a clustered volume's mirror on a live member of the target site other than the
   * frontend's (the current one while it lives, else the lowest address), and tells the frontend.
   */
  private void ensureMirror(VolumeSpec spec, Placed p) {
    MembershipView view = MembershipView.of(Cluster.get(ctx.getSystem()).state());
    Optional<Site> site = view.liveMembersBySite().keySet().stream().filter(x -> x.equals(spec.targetSite())).findFirst();
    Optional<ActorRef<BlockAgent.Command>> m = Optional.empty();
    if (site.isPresent()) {
      if (p.mirrorAgent != null && !p.mirrorAgent.equals(p.frontendAgent) && agents.contains(p.mirrorAgent) && view.liveAt(memberOf(p.mirrorAgent), site.get())) {
        m = Optional.of(p.mirrorAgent);
      } else {
        m = agents.stream()
            .filter(a -> !a.equals(p.frontendAgent) && view.liveAt(memberOf(a), site.get()))
            .min(Comparator.comparing(a -> addressOf(a).toString()));
      }
    }
    if (!m.equals(Optional.ofNullable(p.mirrorAgent))) {
      ctx.getLog().info("volume={} mirror {} -> {}", spec.volume(), p.mirrorAgent == null ? "none" : memberOf(p.mirrorAgent), m.map(this::memberOf).orElse("none (no other live member at the target site)"));
      p.mirrorAgent = m.orElse(null);
      p.mirror = null;
    }
    if (p.mirrorAgent != null) {
      p.mirrorAgent.tell(new BlockAgent.EnsureMirror(spec, mirrorReply));
    }
    tellMirror(p);
  }

  /**
   * Whether a clustered volume's placement waits for the target site's agents to say where its
   * frontend and mirror run: a registry that starts afresh (its member died) must not put the
   * frontend on the mirror's member while the primary lives, or a mirror on the primary's member,
   * which would empty that member's copy. Answers come within a round trip; at most {@link
   * #PROBE_TICKS_MAX} ticks are waited for.
   */
  private boolean probing(VolumeSpec spec, Placed p) {
    MembershipView view = MembershipView.of(Cluster.get(ctx.getSystem()).state());
    if (p.probeAsked == 0) {
      List<ActorRef<BlockAgent.Command>> asked = agents.stream().filter(a -> view.liveAt(memberOf(a), spec.targetSite())).toList();
      if (asked.isEmpty()) {
        return false;
      }
      asked.forEach(a -> a.tell(new BlockAgent.Holds(spec.volume(), holdsReply)));
      p.probeAsked = asked.size();
      return true;
    }
    if (++p.probeTicks > PROBE_TICKS_MAX) {
      p.probed = true;
      return false;
    }
    return true;
  }

  private void tellMirror(Placed p) {
    if (p.frontend != null) {
      p.frontend.tell(new BlockFrontend.UseMirror(Optional.ofNullable(p.mirror), p.mirror == null ? "" : memberOf(p.mirrorAgent)));
    }
  }

  /**
   * The agent to use at {@code site}: the current one while its member is up and reachable, else
   * the live agent at that site with the lowest address.
   */
  private Optional<ActorRef<BlockAgent.Command>> agentAt(String site, ActorRef<BlockAgent.Command> current) {
    MembershipView view = MembershipView.of(Cluster.get(ctx.getSystem()).state());
    Optional<Site> live = view.liveMembersBySite().keySet().stream().filter(s -> s.name().equals(site)).findFirst();
    if (live.isEmpty()) {
      return Optional.empty();
    }
    Site at = live.get();
    if (current != null && agents.contains(current) && view.liveAt(memberOf(current), at)) {
      return Optional.of(current);
    }
    return agents.stream()
        .filter(a -> view.liveAt(memberOf(a), at))
        .min(Comparator.comparing(a -> addressOf(a).toString()));
  }

  /** Names of the sites with a live member. */
  private Set<String> sites() {
    Set<String> sites = new java.util.TreeSet<>();
    MembershipView.of(Cluster.get(ctx.getSystem()).state()).liveMembersBySite().keySet().forEach(s -> sites.add(s.name()));
    return sites;
  }

  private Address addressOf(ActorRef<?> ref) {
    Address a = ref.path().address();
    return a.hasLocalScope() ? Cluster.get(ctx.getSystem()).selfMember().address() : a;
  }

  private String memberOf(ActorRef<?> ref) {
    return addressOf(ref).toString();
  }

  private List<VolumeInfo> infos(VolumeRoster s) {
    List<VolumeInfo> out = new ArrayList<>();
    s.runningInOrder().forEach(spec -> {
      Placed p = placed.get(spec.volume());
      out.add(
          new VolumeInfo(
              spec,
              Optional.ofNullable(p == null ? null : p.backend),
              Optional.ofNullable(p == null ? null : p.frontend),
              p == null || p.backendAgent == null ? "" : memberOf(p.backendAgent),
              p == null || p.frontendAgent == null ? "" : memberOf(p.frontendAgent)));
    });
    return out;
  }

  @Override
  public EventHandler<VolumeRoster, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(VolumeStarted.class, (s, e) -> s.started(e.spec()))
        .onEvent(VolumeStopped.class, (s, e) -> s.stopped(e.volume()))
        .build();
  }
}
