package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Optional;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.junit.jupiter.api.Test;

/**
 * A removed member's shards are released before the down-removal margin only with proof that its
 * process is gone; and the coordinator message that releases them still exists in this Pekko.
 */
class RegionReleaseTest {

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
