package io.ferry.query.node;

import com.typesafe.config.Config;
import java.lang.reflect.Constructor;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.AbstractActor;
import org.apache.pekko.actor.ActorIdentity;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSelection;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.Identify;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.Props;
import org.apache.pekko.actor.Terminated;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases the shards of a crashed member's region as soon as its process is proven gone, instead
 * of after Pekko's {@code down-removal-margin}.
 *
 * <p>The coordinator keeps a removed member's shards for the margin so that, after a partition,
 * the other side has downed itself and stopped them before they start here: a live member may
 * still run them. A member whose process is gone runs nothing, so the margin only delays its
 * nodes (2 s of bench-failover's 6.4 s). Watching the same regions as the coordinator, this actor
 * sees the same {@code Terminated} (the member's removal) and then, until the margin has passed,
 * looks for proof that the process is gone:
 *
 * <ul>
 *   <li>a member at the region's address again: a new incarnation bound the port, so the old
 *       process has let go of it (Pekko's own reason to down an old incarnation at once);
 *   <li>the address's port refuses a TCP connection (only with {@code ferry.failover.crash-probe},
 *       which a WAN turns off: a firewall may refuse for a live member). A live member, even one
 *       cut off, cannot refuse: its packets are lost and the connection times out.
 * </ul>
 *
 * With a proof it tells the coordinator the region stopped ({@code RegionStopped}, what a region
 * sends when it shuts down), which releases the shards at once; without one the coordinator's
 * margin applies as before. Only regions the coordinator already counts as terminated are released.
 *
 * <p>It lives as long as the coordinator it serves (it watches it), so a coordinator that moves to
 * another member and back leaves no actor behind; the strategy starts a new one on its next
 * rebalance.
 *
 * <p>{@code RegionStopped} is Pekko's internal coordinator protocol (1.7.0, pinned): {@code
 * RegionReleaseTest} fails if a new version renames it, {@code bench-failover}'s "started" step
 * (no longer removal + margin) shows whether it still releases.
 */
final class RegionRelease extends AbstractActor {

  private static final Logger log = LoggerFactory.getLogger(RegionRelease.class);

  /**
   * The coordinator's {@code RegionStopped(region)}: Scala nests it where javac cannot name it.
   * Resolved once; {@code RegionReleaseTest} fails if a Pekko upgrade renames it.
   */
  static final Constructor<?> REGION_STOPPED = regionStopped();

  private static Constructor<?> regionStopped() {
    try {
      return Class.forName(ShardCoordinator.class.getName() + "$Internal$RegionStopped").getConstructor(ActorRef.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final AtomicInteger STARTED = new AtomicInteger();

  /** How often a terminated region's proof is looked for again. */
  private static final Duration RECHECK = Duration.ofMillis(100);

  private sealed interface Msg extends NoSerializationVerificationNeeded {}

  /** Watch these regions (the coordinator's, as the allocation strategy sees them). */
  record Watch(Set<ActorRef> regions) implements Msg {}

  private record Check(ActorRef region) implements Msg {}

  private record Probed(ActorRef region, boolean refused) implements Msg {}

  /** The probe of a terminated region's address (a seam for a test's probe that throws). */
  @FunctionalInterface
  interface Probe {
    boolean refuses(Address address, Duration timeout);
  }

  /**
   * A started actor: {@link #running} turns false once it stopped (with its coordinator), then
   * the strategy starts another.
   */
  record Handle(ActorRef ref, AtomicBoolean stopped) {
    boolean running() {
      return !stopped.get();
    }
  }

  /** Causes of probe failures logged already (a probe that throws would otherwise log every 100 ms). */
  static final class ProbeFailures {
    /** Distinct causes logged at most: a probe that keeps failing differently stays quiet after. */
    static final int MAX_CAUSES = 16;

    private final Set<String> logged = ConcurrentHashMap.newKeySet();

    /**
     * Runs the probe; a probe that throws counts as "not refused" (no proof: the margin applies)
     * and its cause is logged once (WARN), by exception type.
     */
    boolean refuses(Probe probe, Address at, Duration timeout) {
      try {
        return probe.refuses(at, timeout);
      } catch (RuntimeException e) {
        String cause = e.getClass().getName();
        if (logged.size() < MAX_CAUSES && logged.add(cause)) {
          log.warn("the crash probe of {} failed ({}); its region's shards wait for the down-removal margin (logged once per cause)", at, e.toString(), e);
        }
        return false;
      }
    }
  }

  /** Whether a terminated region's process is proven gone, and why; empty while not proven. */
  static Optional<String> proof(boolean memberAtAddressAgain, boolean portRefused) {
    if (memberAtAddressAgain) {
      return Optional.of("a new incarnation joined at its address");
    }
    if (portRefused) {
      return Optional.of("its port refuses connections");
    }
    return Optional.empty();
  }

  /**
   * Regions this actor saw terminate by their member's removal: the allocation strategy never
   * rebalances away from them (the hand-off would wait its whole timeout), also when a new
   * incarnation is up at the same address. Shared with the strategy; bounded by the regions it feeds.
   */
  private final Set<ActorRef> terminated;

  private final ActorSelection coordinator;
  /** The coordinator once identified (watched: this actor stops with it). */
  private ActorRef coordinatorRef;
  private final AtomicBoolean stopped;
  private final Probe prober;
  private final ProbeFailures failures = new ProbeFailures();
  private final boolean probe;
  private final Duration probeTimeout;
  private final Duration margin;
  private final Set<ActorRef> watched = new HashSet<>();
  /** Terminated regions still looked at, and until when (nanos). */
  private final Map<ActorRef, Long> pending = new HashMap<>();

  private final ExecutorService probing =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "ferry-region-release");
            t.setDaemon(true);
            return t;
          });

  private RegionRelease(
      String coordinatorPath, Set<ActorRef> terminated, AtomicBoolean stopped, Probe prober, boolean probe, Duration probeTimeout, Duration margin) {
    this.terminated = terminated;
    this.coordinator = getContext().getSystem().actorSelection(coordinatorPath);
    this.stopped = stopped;
    this.prober = prober;
    this.probe = probe;
    this.probeTimeout = probeTimeout;
    this.margin = margin;
  }

  /**
   * Starts the actor for the coordinator of {@code typeName} (call it from the coordinator, which
   * it then watches); {@code terminated} is filled by it.
   */
  static Handle start(ActorSystem system, String typeName, Set<ActorRef> terminated) {
    return start(system, coordinatorPath(system.settings().config(), typeName), terminated, PortProbe::refuses);
  }

  /**
   * The coordinator's path as Pekko's sharding guardian names it: the type name URL-encoded (a
   * name with a space or a slash is no valid path element raw).
   */
  static String coordinatorPath(Config c, String typeName) {
    String guardian = c.hasPath("pekko.cluster.sharding.guardian-name") ? c.getString("pekko.cluster.sharding.guardian-name") : "sharding";
    return "/system/" + guardian + "/" + URLEncoder.encode(typeName, StandardCharsets.UTF_8) + "Coordinator/singleton/coordinator";
  }

  /** Starts the actor for the coordinator at {@code coordinatorPath}, probing with {@code prober}. */
  static Handle start(ActorSystem system, String coordinatorPath, Set<ActorRef> terminated, Probe prober) {
    Config c = system.settings().config();
    boolean probe = c.hasPath("ferry.failover.crash-probe") && c.getBoolean("ferry.failover.crash-probe");
    Duration probeTimeout = c.hasPath("ferry.failover.crash-probe-timeout") ? c.getDuration("ferry.failover.crash-probe-timeout") : Duration.ofMillis(500);
    AtomicBoolean stopped = new AtomicBoolean();
    Duration margin = margin(c);
    // A system actor: a typed system's user guardian takes no top-level actors from outside.
    // Numbered: a coordinator back here starts a new one while the old may still be stopping.
    ActorRef ref =
        ((ExtendedActorSystem) system)
            .systemActorOf(
                Props.create(RegionRelease.class, () -> new RegionRelease(coordinatorPath, terminated, stopped, prober, probe, probeTimeout, margin)),
                "ferry-region-release-" + STARTED.incrementAndGet());
    return new Handle(ref, stopped);
  }

  /** Pekko's down-removal margin as the split-brain resolver applies it: its own stable-after when off. */
  static Duration margin(Config c) {
    String path = "pekko.cluster.down-removal-margin";
    if (c.hasPath(path) && !c.getString(path).equals("off")) {
      Duration d = c.getDuration(path);
      if (!d.isZero()) {
        return d;
      }
    }
    String stable = "pekko.cluster.split-brain-resolver.stable-after";
    return c.hasPath(stable) ? c.getDuration(stable) : Duration.ofSeconds(20);
  }

  /** A set the strategy and this actor share. */
  static Set<ActorRef> sharedSet() {
    return ConcurrentHashMap.newKeySet();
  }

  @Override
  public void preStart() {
    coordinator.tell(new Identify("coordinator"), getSelf());
  }

  @Override
  public void preRestart(Throwable reason, Optional<Object> message) {
    probing.shutdownNow(); // not stopped: the new instance serves the same coordinator
  }

  @Override
  public void postStop() {
    stopped.set(true);
    probing.shutdownNow();
  }

  @Override
  public Receive createReceive() {
    return receiveBuilder()
        .match(Watch.class, this::onWatch)
        .match(ActorIdentity.class, this::onCoordinator)
        .match(Terminated.class, this::onTerminated)
        .match(Check.class, c -> check(c.region()))
        .match(Probed.class, this::onProbed)
        .build();
  }

  private void onWatch(Watch w) {
    Set<Address> members = new HashSet<>();
    for (Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
      members.add(m.address());
    }
    for (ActorRef r : w.regions()) {
      // Only members' regions: a region the coordinator has is a member's, and watching an address
      // that is no member would make the remote watcher dial it.
      if (!r.path().address().hasLocalScope() && members.contains(r.path().address()) && !terminated.contains(r) && watched.add(r)) {
        getContext().watch(r);
      }
    }
    watched.retainAll(w.regions());
    terminated.retainAll(w.regions());
  }

  /** Watches the coordinator it was started by; one already gone (moved away meanwhile) ends it now. */
  private void onCoordinator(ActorIdentity id) {
    if (id.getActorRef().isPresent()) {
      coordinatorRef = id.getActorRef().get();
      getContext().watch(coordinatorRef);
    } else {
      getContext().stop(getSelf());
    }
  }

  private void onTerminated(Terminated t) {
    if (t.actor().equals(coordinatorRef)) {
      getContext().stop(getSelf()); // the coordinator stopped or moved away: the next one here starts its own
      return;
    }
    ActorRef r = t.actor();
    watched.remove(r);
    if (!t.addressTerminated()) {
      return; // stopped on its own: the coordinator releases it at once anyway
    }
    if (!terminated.add(r)) {
      return;
    }
    pending.put(r, System.nanoTime() + margin.toNanos());
    check(r);
  }

  private void check(ActorRef region) {
    Long until = pending.get(region);
    if (until == null) {
      return;
    }
    if (System.nanoTime() > until) {
      pending.remove(region); // the coordinator's margin has passed: it released the region itself
      return;
    }
    Address at = region.path().address();
    boolean again = false;
    for (Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
      again |= m.address().equals(at);
    }
    if (again || !probe) {
      decide(region, again, false);
      return;
    }
    ActorRef self = getSelf();
    CompletableFuture.supplyAsync(() -> failures.refuses(prober, at, probeTimeout), probing)
        .whenComplete((refused, failure) -> self.tell(new Probed(region, refused != null && refused), ActorRef.noSender()));
  }

  private void onProbed(Probed p) {
    if (pending.containsKey(p.region())) {
      decide(p.region(), false, p.refused());
    }
  }

  private void decide(ActorRef region, boolean again, boolean refused) {
    Optional<String> why = proof(again, refused);
    if (why.isEmpty()) {
      getContext().getSystem().scheduler().scheduleOnce(RECHECK, getSelf(), new Check(region), getContext().getDispatcher(), ActorRef.noSender());
      return;
    }
    pending.remove(region);
    log.warn("shard region {} is gone with its member ({}): releasing its shards now instead of after the down-removal margin", region, why.get());
    try {
      coordinator.tell(REGION_STOPPED.newInstance(region), ActorRef.noSender());
    } catch (ReflectiveOperationException e) {
      log.warn("cannot tell the coordinator that region {} stopped; it releases its shards after the margin", region, e);
    }
  }
}
