package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Members over mutual TLS with scripts/dev-ca's certificates: members whose certificates the
 * cluster's CA signed form the cluster over Artery tls-tcp; a member whose certificate another CA
 * signed cannot join, while a member with a good certificate started after it joins.
 */
class MemberTlsIT {

  /**
   * A member's stop: leaving the cluster, then Artery's bounded stop (ferry.security.artery.stop-timeout,
   * 10 s), then the rest of its termination; a hang is a minute or more.
   */
  private static final Duration STOP_BOUND = Duration.ofSeconds(40);

  @TempDir Path dir;

  private static void devCa(Path out, String... names) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("bash", Path.of("..", "scripts", "dev-ca").toAbsolutePath().normalize().toString(), out.toString()));
    cmd.addAll(List.of(names));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), output);
  }

  private static Config tls(Path ca, String member) {
    return tls(ca, member, ca);
  }

  /** A member presenting {@code ca}'s certificate for {@code member} and trusting {@code trusted}'s CA. */
  private static Config tls(Path ca, String member, Path trusted) {
    return ConfigFactory.parseMap(
        Map.of(
            "ferry.security.artery.enabled", true,
            "ferry.security.artery.keystore", ca.resolve(member + ".p12").toString(),
            "ferry.security.artery.keystore-password", "ferry-dev",
            "ferry.security.artery.truststore", trusted.resolve("truststore.p12").toString(),
            "ferry.security.artery.truststore-password", "ferry-dev",
            // The endpoint is off, so TLS between members is all a member's security settings need:
            // no member of the cluster may log that it is insecure.
            "ferry.http.enabled", false,
            // Block resources are not what this test is about: no Aeron driver per member.
            "ferry.blocks.start-eagerly", false));
  }

  private static boolean upInSeedView(FerryNode seed, FerryNode member) {
    Iterable<Member> members = Cluster.get(seed.system()).state().getMembers();
    return StreamSupport.stream(members.spliterator(), false)
        .anyMatch(m -> m.address().toString().equals(member.address()) && m.status() == MemberStatus.up());
  }

  private static boolean seenBySeed(FerryNode seed, FerryNode member) {
    Iterable<Member> members = Cluster.get(seed.system()).state().getMembers();
    return StreamSupport.stream(members.spliterator(), false).anyMatch(m -> m.address().toString().equals(member.address()));
  }

  /**
   * Also checks the stop after a rogue's failed handshakes: a good member's actor system sometimes
   * never finished terminating then (Artery waited for a TLS stream that did not complete), which
   * failed LocalCluster's close; FerryNode now bounds that wait (ArteryStop), so every member
   * must stop, within STOP_BOUND.
   */
  @Test
  void membersOfOneCaJoinAndAMemberOfAnotherCaCannot() throws Exception {
    Path ca = dir.resolve("ca");
    Path other = dir.resolve("other-ca");
    devCa(ca, "site");
    devCa(other, "rogue");
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    try (InsecureLines insecure = new InsecureLines();
        LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, tls(ca, "site"), Duration.ofSeconds(60))) {
      FerryNode seed = cluster.member("cloud");
      assertEquals("tls-tcp", seed.system().settings().config().getString("pekko.remote.artery.transport"));
      assertTrue(upInSeedView(seed, cluster.member("edge-a")));
      assertEquals(List.of(), insecure.lines(), "a member with its security settings logged that it is insecure");

      // The rogue trusts the cluster's CA (its certificate is public), so what stops it is the
      // members checking its certificate, not it refusing theirs.
      FerryNode rogue = cluster.startMember("edge-b", "edge", tls(other, "rogue", ca));
      // Started after the rogue: by the time it is Up, the rogue has had as long to join.
      FerryNode good = cluster.startMember("edge-c", "edge", ConfigFactory.empty());
      good.awaitUp(Duration.ofSeconds(60));
      long seen = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!upInSeedView(seed, good)) {
        assertTrue(System.nanoTime() < seen, "the seed did not see the member with a good certificate Up within 30 s");
        Thread.sleep(50);
      }
      // The rogue's join attempts repeat every 5 s (seed-node-timeout); give it one more round or two.
      long until = System.nanoTime() + Duration.ofSeconds(8).toNanos();
      while (System.nanoTime() < until) {
        assertFalse(seenBySeed(seed, rogue), "a member with another CA's certificate got into the cluster");
        assertFalse(Cluster.get(rogue.system()).selfMember().status() == MemberStatus.up(), "the rogue member thinks it is Up");
        Thread.sleep(200);
      }
      rogue.crash();
      // Each good member leaves and stops on its own (FerryNode.close throws if its system has not
      // terminated within a minute), the seed last; none may wait on the rogue's dead handshakes.
      List<FerryNode> stopping = new java.util.ArrayList<>(cluster.live());
      java.util.Collections.reverse(stopping);
      for (FerryNode m : stopping) {
        long t0 = System.nanoTime();
        m.close();
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        System.out.println("MemberTlsIT: member " + m.settings().site() + " stopped in " + took.toMillis() + " ms");
        assertTrue(took.compareTo(STOP_BOUND) < 0, "member " + m.settings().site() + " took " + took + " to stop");
      }
    }
  }
}
