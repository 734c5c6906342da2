package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.ddata.DistributedData;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.Replicator;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Await;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;

/**
 * The allocation reads a location written a moment before, with no wait for the replicator's
 * subscriber notification (Pekko's external strategy would still answer "the requester" then), and
 * never sends a shard to a member without a region, nor a node placed at a member that is gone
 * anywhere but its next placement. The far member is a reference to an address
 * no system listens on: the strategy only compares addresses, it never messages a region.
 */
class PlacedShardAllocationTest {

  private static final String TYPE = "placed-test";
  private static ActorSystem system;
  private static ActorRef local;
  private static ActorRef far;
  private static final String FAR = "pekko://ferry@127.0.0.1:1";

  @BeforeAll
  static void start() throws Exception {
    system =
        ActorSystem.create(
            "ferry",
            ConfigFactory.parseString(
                    """
                    pekko.actor.provider = cluster
                    pekko.remote.artery.canonical { hostname = 127.0.0.1, port = 0 }
                    pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                    pekko.cluster.distributed-data.notify-subscribers-interval = 10s
                    pekko.loglevel = WARNING
                    pekko.logger-startup-timeout = 30s
                    """)
                .withFallback(ConfigFactory.load()));
    Cluster cluster = Cluster.get(system);
    cluster.join(cluster.selfAddress());
    new TestKit(system).awaitCond(() -> cluster.selfMember().status().toString().equals("Up"));
    local = new TestKit(system).getRef();
    far = ((ExtendedActorSystem) system).provider().resolveActorRef(FAR + "/system/sharding/far");
  }

  @AfterAll
  static void stop() {
    TestKit.shutdownActorSystem(system);
  }

  private static void locate(String shard, String address) throws Exception {
    SelfUniqueAddress self = DistributedData.get(system).selfUniqueAddress();
    Object reply =
        Patterns.ask(
                DistributedData.get(system).replicator(),
                new Replicator.Update<LWWMap<String, String>>(
                    PlacedShardAllocation.key(TYPE), LWWMap.create(), Replicator.writeLocal(), Optional.empty(), m -> m.put(self, shard, address)),
                Duration.ofSeconds(5))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(Replicator.UpdateSuccess.class, reply.getClass());
  }

  private static Map<ActorRef, IndexedSeq<String>> regions(String onLocal) {
    Map<ActorRef, IndexedSeq<String>> m = new LinkedHashMap<>();
    m.put(local, CollectionConverters.asScala(onLocal == null ? java.util.List.<String>of() : java.util.List.of(onLocal)).toIndexedSeq());
    m.put(far, CollectionConverters.asScala(java.util.List.<String>of()).toIndexedSeq());
    return m;
  }

  private static PlacedShardAllocation strategy() {
    return PlacedShardAllocation.create(org.apache.pekko.actor.typed.javadsl.Adapter.toTyped(system), TYPE, Duration.ofSeconds(2));
  }

  @Test
  void aLocationWrittenJustBeforeIsHonouredAtOnce() throws Exception {
    locate("q/window", FAR);
    ActorRef chosen = Await.result(strategy().allocateShard(local, "q/window", regions(null)), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(far, chosen, "the shard goes to the member its placement names, not to the requester");
  }

  @Test
  void aShardAtTheWrongMemberIsRebalancedAndOneInProgressIsLeftAlone() throws Exception {
    locate("q/sink", FAR);
    var moves = Await.result(strategy().rebalance(regions("q/sink"), Set.of()), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(Set.of("q/sink"), moves);
    var none = Await.result(strategy().rebalance(regions("q/sink"), Set.of("q/sink")), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(Set.of(), none);
  }

  @Test
  void aShardWithoutAPlacementStaysAtTheRequester() throws Exception {
    ActorRef unplaced = Await.result(strategy().allocateShard(local, "q/unplaced", regions(null)), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(local, unplaced);
  }

  @Test
  void aShardPlacedAtAGoneMemberWaitsForItsNewPlacementAndIsNotMovedMeanwhile() throws Exception {
    locate("q/gone", "pekko://ferry@127.0.0.1:2");
    var noMove = Await.result(strategy().rebalance(regions("q/gone"), Set.of()), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(Set.of(), noMove, "no move towards a member that has no region");
    // Never re-placed: no allocation at all (the old fallback ran it at the requester, off its site).
    Exception none = assertThrows(Exception.class,
        () -> Await.result(strategy().allocateShard(local, "q/gone", regions(null)), scala.concurrent.duration.Duration.create(10, "s")));
    assertTrue(String.valueOf(none.getMessage()).contains("no live region"), none.toString());
    // Re-placed while the allocation waits: allocated at the new place.
    CompletableFuture<ActorRef> pending =
        FutureConverters.asJava(strategy().allocateShard(far, "q/gone", regions(null))).toCompletableFuture();
    locate("q/gone", Cluster.get(system).selfAddress().toString());
    assertEquals(local, pending.get(5, TimeUnit.SECONDS));
  }

  @Test
  void aShardAtARegionOfAMemberThatIsGoneIsLeftToTheCoordinator() throws Exception {
    locate("q/stranded", Cluster.get(system).selfAddress().toString());
    Map<ActorRef, IndexedSeq<String>> m = new LinkedHashMap<>();
    m.put(local, CollectionConverters.asScala(java.util.List.<String>of()).toIndexedSeq());
    m.put(far, CollectionConverters.asScala(java.util.List.of("q/stranded")).toIndexedSeq());
    var moves = Await.result(strategy().rebalance(m, Set.of()), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(Set.of(), moves, "a hand-off from a region that cannot answer would wait the whole hand-off timeout");
  }

  @Test
  void aShardAlreadyWhereItBelongsIsNotMoved() throws Exception {
    locate("q/home", Cluster.get(system).selfAddress().toString());
    var moves = Await.result(strategy().rebalance(regions("q/home"), Set.of()), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(Set.of(), moves);
    ActorRef chosen = Await.result(strategy().allocateShard(far, "q/home", regions(null)), scala.concurrent.duration.Duration.create(5, "s"));
    assertEquals(local, chosen, "a local region is matched by this member's own address");
  }
}
