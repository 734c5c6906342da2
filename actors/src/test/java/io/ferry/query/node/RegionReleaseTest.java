package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.AbstractActor;
import org.apache.pekko.actor.ActorIdentity;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.Identify;
import org.apache.pekko.actor.Props;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A removed member's shards are released before the down-removal margin only with proof that its
 * process is gone; and the coordinator message that releases them still exists in this Pekko. The
 * actor finds its coordinator where Pekko puts it, and lives no longer than it.
 */
class RegionReleaseTest {

  private static ActorSystem system;

  @BeforeAll
  static void start() {
    system =
        ActorSystem.create(
            "ferry",
            ConfigFactory.parseString(
                    """
                    pekko.actor.provider = cluster
                    pekko.remote.artery.canonical { hostname = 127.0.0.1, port = 0 }
                    pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                    pekko.loglevel = WARNING
                    pekko.logger-startup-timeout = 30s
                    """)
                .withFallback(ConfigFactory.load()));
    Cluster cluster = Cluster.get(system);
    cluster.join(cluster.selfAddress());
  }

  @AfterAll
  static void stop() {
    TestKit.shutdownActorSystem(system);
  }

  /** An actor standing for a coordinator: only its life matters. */
  static final class Idle extends AbstractActor {
    @Override
    public Receive createReceive() {
      return receiveBuilder().build();
    }
  }

  private static Optional<ActorRef> identify(TestKit probe, String path) {
    system.actorSelection(path).tell(new Identify(path), probe.getRef());
    return probe.expectMsgClass(Duration.ofSeconds(30), ActorIdentity.class).getActorRef();
  }

  @Test
  void itFindsARealCoordinatorWhoseTypeNameNeedsEncodingAndStopsWithIt() {
    String type = "logic node/ü";
    assertEquals("/system/sharding/logic+node%2F%C3%BCCoordinator/singleton/coordinator", RegionRelease.coordinatorPath(ConfigFactory.empty(), type));
    ClusterSharding.get(system)
        .start(type, Props.create(Idle.class), ClusterShardingSettings.create(system), new ShardRegion.HashCodeMessageExtractor(10) {
          @Override
          public String entityId(Object message) {
            return message.toString();
          }
        });
    TestKit probe = new TestKit(system);
    String path = RegionRelease.coordinatorPath(system.settings().config(), type);
    AtomicReference<ActorRef> found = new AtomicReference<>();
    probe.awaitCond(Duration.ofSeconds(30), Duration.ofMillis(50), () -> {
      identify(probe, path).ifPresent(found::set);
      return found.get() != null;
    });
    ActorRef coordinator = found.get();
    RegionRelease.Handle release = RegionRelease.start(system, type, RegionRelease.sharedSet());
    probe.watch(release.ref());
    assertTrue(identify(probe, release.ref().path().toStringWithoutAddress()).isPresent(), "alive while its coordinator is");
    // The coordinator stops (its backoff supervisor starts a new one): the actor goes with it.
    system.stop(coordinator);
    probe.expectTerminated(Duration.ofSeconds(30), release.ref());
    assertFalse(release.running(), "the strategy starts another on its next rebalance");
  }

  @Test
  void itStopsAtOnceWhenItsCoordinatorIsGoneAlready() {
    ActorRef coordinator = system.actorOf(Props.create(Idle.class));
    String path = coordinator.path().toStringWithoutAddress();
    TestKit probe = new TestKit(system);
    probe.watch(coordinator);
    system.stop(coordinator);
    probe.expectTerminated(Duration.ofSeconds(30), coordinator);
    RegionRelease.Handle release = RegionRelease.start(system, path, RegionRelease.sharedSet(), (a, t) -> false);
    probe.watch(release.ref());
    probe.expectTerminated(Duration.ofSeconds(30), release.ref());
    assertFalse(release.running());
  }

  @Test
  void aProbeThatThrowsProvesNothingAndIsLoggedOncePerCause() {
    ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(RegionRelease.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    try {
      RegionRelease.ProbeFailures failures = new RegionRelease.ProbeFailures();
      Address at = new Address("pekko", "ferry", "127.0.0.1", 1);
      for (int i = 0; i < 3; i++) {
        String text = "probe " + i;
        assertFalse(failures.refuses((a, t) -> { throw new IllegalStateException(text); }, at, Duration.ofMillis(10)));
      }
      assertFalse(failures.refuses((a, t) -> { throw new SecurityException("no sockets"); }, at, Duration.ofMillis(10)));
      assertTrue(failures.refuses((a, t) -> true, at, Duration.ofMillis(10)), "a probe that answers is believed");
      assertEquals(2, logged.list.size(), "once per cause: " + logged.list);
      assertEquals(Level.WARN, logged.list.get(0).getLevel());
      assertTrue(logged.list.get(0).getFormattedMessage().contains("IllegalStateException"), logged.list.get(0).getFormattedMessage());
      assertTrue(logged.list.get(1).getFormattedMessage().contains("SecurityException"), logged.list.get(1).getFormattedMessage());
    } finally {
      logger.detachAppender(logged);
    }
  }

  @Test
  void onlyAProofReleases() {
    assertEquals(Optional.empty(), RegionRelease.proof(false, false), "no proof: the margin applies (a partitioned member may still run them)");
    assertTrue(RegionRelease.proof(true, false).orElseThrow().contains("new incarnation"));
    assertTrue(RegionRelease.proof(false, true).orElseThrow().contains("refuses"));
  }

  @Test
  void theCoordinatorsRegionStoppedIsThere() throws Exception {
    Object msg = RegionRelease.REGION_STOPPED.newInstance(ActorRef.noSender());
    assertEquals(ShardCoordinator.class.getName() + "$Internal$RegionStopped", msg.getClass().getName());
  }

  @Test
  void aClosedPortRefusesAndAListeningOneDoesNot() throws Exception {
    try (ServerSocket open = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Address listening = new Address("pekko", "ferry", "127.0.0.1", open.getLocalPort());
      assertFalse(PortProbe.refuses(listening, Duration.ofSeconds(2)));
    }
    int closed;
    try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    assertTrue(PortProbe.refuses(new Address("pekko", "ferry", "127.0.0.1", closed), Duration.ofSeconds(2)));
  }

  @Test
  void aRefusalIsToldByTheExceptionsTypeNotItsText() {
    assertTrue(PortProbe.refusal(new java.net.ConnectException("Verbindungsaufbau abgelehnt")), "a localised refusal");
    assertTrue(PortProbe.refusal(new java.net.ConnectException()), "a refusal without a message");
    assertTrue(PortProbe.refusal(new java.net.PortUnreachableException("ICMP Port Unreachable")));
    assertFalse(PortProbe.refusal(new java.net.ConnectException("Connection timed out")), "the kernel's connect timeout: a live member may be cut off");
    assertFalse(PortProbe.refusal(new java.net.SocketTimeoutException("Connect timed out")));
    assertFalse(PortProbe.refusal(new java.net.NoRouteToHostException("No route to host")));
    assertFalse(PortProbe.refusal(new java.io.IOException("Connection refused")), "not a connect failure, whatever its text");
  }

  @Test
  void theMarginIsPekkosAsTheResolverAppliesIt() {
    assertEquals(Duration.ofSeconds(2), RegionRelease.margin(ConfigFactory.parseString("pekko.cluster.down-removal-margin = 2s")));
    assertEquals(
        Duration.ofSeconds(7),
        RegionRelease.margin(ConfigFactory.parseString("pekko.cluster { down-removal-margin = off, split-brain-resolver.stable-after = 7s }")));
  }
}
