package io.ferry.query.node;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.DistributedData;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.Replicator;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;

/**
 * Allocates a logic node's shard to the member its placement names, read from the shard-location
 * map (shard id → member address) at the moment the coordinator asks.
 *
 * <p>Pekko's {@code ExternalShardAllocationStrategy} reads the same map from a cache that the
 * replicator refreshes only every {@code notify-subscribers-interval}: a node started right after
 * its location was written could be allocated at the requesting member (the registry's, usually the
 * cloud's), run there for a moment and be moved afterwards — a PII node briefly off the edge, and
 * its work counted on the wrong member. The writer ({@code ShardLocations}) completes only once
 * every reachable replicator holds the location, so a local read here is already current; a shard
 * with no location at all is read once more from a majority before it falls back to the requester.
 */
public final class PlacedShardAllocation extends ShardCoordinator.AbstractShardAllocationStrategy {

  private static final Logger log = LoggerFactory.getLogger(PlacedShardAllocation.class);

  /** The end of the message of an allocation that found no live region at the shard's placed member. */
  public static final String NO_LIVE_REGION = ", which has no live region";

  /** The replicated key both this strategy and the writer use (Pekko's name for external allocation). */
  public static Key<LWWMap<String, String>> key(String typeName) {
    return LWWMapKey.create("external-sharding-" + typeName);
  }

  private static final long RECHECK_MS = 50;

  private final ActorSystem system;
  private final ActorRef replicator;
  private final Address self;
  private final Key<LWWMap<String, String>> key;
  private final Duration timeout;
  private final String typeName;
  /** Regions whose member was removed (see {@link RegionRelease}); filled by that actor. */
  private final Set<ActorRef> terminated = RegionRelease.sharedSet();
  /**
   * Started on a rebalance, which only the coordinator's member runs; it stops with that
   * coordinator, and the next rebalance here (the coordinator back) starts another.
   */
  private RegionRelease.Handle release;

  private PlacedShardAllocation(ActorSystem system, String typeName, Duration timeout) {
    this.system = system;
    this.replicator = DistributedData.get(system).replicator();
    this.self = Cluster.get(system).selfAddress();
    this.key = key(typeName);
    this.timeout = timeout;
    this.typeName = typeName;
  }

  public static PlacedShardAllocation create(org.apache.pekko.actor.typed.ActorSystem<?> system, String typeName, Duration timeout) {
    return new PlacedShardAllocation(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system), typeName, timeout);
  }

  @Override
  public Future<ActorRef> allocateShard(ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> current) {
    CompletionStage<ActorRef> chosen =
        read(Replicator.readLocal())
            .thenCompose(
                local -> {
                  if (local.containsKey(shardId)) {
                    return java.util.concurrent.CompletableFuture.completedFuture(local);
                  }
                  return read(new Replicator.ReadMajority(scala.concurrent.duration.Duration.fromNanos(timeout.toNanos())));
                })
            .handle(
                (locations, failure) -> {
                  String wanted = locations == null ? null : locations.get(shardId);
                  Optional<ActorRef> region = wanted == null ? Optional.empty() : regionAt(wanted, current.keySet());
                  if (region.isPresent()) {
                    return region.get();
                  }
                  if (wanted != null && !liveMembers().contains(wanted)) {
                    return null; // its member crashed: wait below for the registry to place it on a live one
                  }
                  log.warn(
                      "shard={} has {}; allocated at the requesting member {} until its placement is known",
                      shardId,
                      failure != null ? "no readable location (" + failure.getMessage() + ")" : wanted == null ? "no location" : "a location with no live region (" + wanted + ")",
                      addressOf(requester));
                  return requester;
                });
    long deadline = System.nanoTime() + timeout.toNanos();
    return FutureConverters.asScala(
        chosen.thenCompose(region -> region != null ? CompletableFuture.completedFuture(region) : awaitLiveLocation(shardId, current, deadline)));
  }

  /**
   * The region of the live member the shard's location names, read again every {@value #RECHECK_MS}
   * ms: a node of a crashed member runs nowhere but where its placement says (never a PII node in
   * the cloud) and starts as soon as the registry has placed it on a live member. Fails at the
   * deadline; the coordinator logs that and the region asks again.
   */
  private CompletionStage<ActorRef> awaitLiveLocation(String shardId, Map<ActorRef, IndexedSeq<String>> current, long deadline) {
    return Patterns.after(Duration.ofMillis(RECHECK_MS), system.scheduler(), system.dispatcher(), () -> read(Replicator.readLocal()))
        .thenCompose(
            locations -> {
              String wanted = locations.get(shardId);
              Optional<ActorRef> region = wanted == null || !liveMembers().contains(wanted) ? Optional.empty() : regionAt(wanted, current.keySet());
              if (region.isPresent()) {
                return CompletableFuture.completedFuture(region.get());
              }
              if (System.nanoTime() > deadline) {
                // Expected while a member is down or leaving (its nodes wait for the registry to
                // place them on a live member): said here as a warning; the coordinator's own
                // ERROR for the failure names this message (NO_LIVE_REGION), which the
                // application's logging drops (io.ferry.cli.ExpectedAllocationWait).
                log.warn("shard {} is placed at {}, which has no live region yet; the region asks again", shardId, wanted);
                return CompletableFuture.failedFuture(
                    new IllegalStateException("shard " + shardId + " is placed at " + wanted + NO_LIVE_REGION));
              }
              return awaitLiveLocation(shardId, current, deadline);
            });
  }

  /**
   * Moves the shards whose location names another live region. A shard at a region whose member is
   * unreachable, down or gone stays until the coordinator releases it (after the down-removal
   * margin, or earlier when {@link RegionRelease} proves its process gone); then it is allocated
   * where its location says. Moving it earlier would hand it off from a region that cannot answer,
   * and the coordinator would wait the whole hand-off timeout: bench-failover once waited 10 s so,
   * a new incarnation being up at the removed region's address.
   */
  @Override
  public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> inProgress) {
    if (release == null || !release.running()) {
      release = RegionRelease.start(system, typeName, terminated);
    }
    // Called every rebalance interval with every region the coordinator has, terminating ones too.
    release.ref().tell(new RegionRelease.Watch(Set.copyOf(current.keySet())), ActorRef.noSender());
    Set<String> live = liveMembers();
    CompletionStage<Set<String>> moves =
        read(Replicator.readLocal())
            .handle(
                (locations, failure) -> {
                  Set<String> out = new HashSet<>();
                  if (locations == null) {
                    return out;
                  }
                  for (Map.Entry<ActorRef, IndexedSeq<String>> e : current.entrySet()) {
                    String at = addressOf(e.getKey());
                    // A removed member's region, also when a new incarnation is up at its address.
                    if (!live.contains(at) || terminated.contains(e.getKey())) {
                      continue;
                    }
                    for (String shard : CollectionConverters.asJava(e.getValue())) {
                      String wanted = locations.get(shard);
                      if (wanted != null && !wanted.equals(at) && !inProgress.contains(shard) && regionAt(wanted, current.keySet()).isPresent()) {
                        out.add(shard);
                      }
                    }
                  }
                  return out;
                });
    return FutureConverters.asScala(moves);
  }

  /** Addresses of the members that are up (or leaving, still handing off) and reachable from here. */
  private Set<String> liveMembers() {
    Cluster cluster = Cluster.get(system);
    Set<String> out = new HashSet<>();
    for (Member m : cluster.state().getMembers()) {
      if ((m.status() == MemberStatus.up() || m.status() == MemberStatus.leaving() || m.status() == MemberStatus.weaklyUp())
          && !cluster.state().getUnreachable().contains(m)) {
        out.add(m.address().toString());
      }
    }
    out.add(self.toString());
    return out;
  }

  private CompletionStage<Map<String, String>> read(Replicator.ReadConsistency consistency) {
    return Patterns.ask(replicator, new Replicator.Get<>(key, consistency), timeout)
        .thenApply(
            reply -> {
              if (reply instanceof Replicator.GetSuccess<?> ok) {
                @SuppressWarnings("unchecked")
                LWWMap<String, String> m = (LWWMap<String, String>) ok.dataValue();
                return new HashMap<>(m.getEntries());
              }
              if (reply instanceof Replicator.NotFound<?>) {
                return Map.of();
              }
              throw new IllegalStateException("reading shard locations failed: " + reply);
            });
  }

  private Optional<ActorRef> regionAt(String address, Set<ActorRef> regions) {
    return regions.stream().filter(r -> addressOf(r).equals(address)).findFirst();
  }

  private String addressOf(ActorRef region) {
    Address a = region.path().address();
    return (a.hasLocalScope() ? self : a).toString();
  }
}
