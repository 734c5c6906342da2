package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.cluster.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crashed member (its system gone, its port closed) is downed and removed by the crash probe
 * well before the split-brain resolver would: the resolver here waits two minutes, so only the
 * probe can remove it within the test's bound. The first test turns the leader's sweep off (the
 * probe starts from the failure detector's verdict); the second gives the failure detector a
 * minute, so only the sweep (and the quarantine that lets the downed member be removed) can.
 */
class CrashProbeIT {
  @TempDir Path dir;

  @Test
  void aMemberWhosePortRefusesIsDownedBeforeStableAfter() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir, sites,
        ConfigFactory.parseString("pekko.cluster.split-brain-resolver.stable-after = 120s\nferry.security.allow-insecure = on\n"
            + "ferry.failover.crash-probe-interval = 0"),
        Duration.ofSeconds(120))) {
      FerryNode victim = cluster.live().get(1);
      String address = victim.address();
      long crashed = System.nanoTime();
      victim.crash();
      cluster.awaitCrashedRemoved(Duration.ofSeconds(60));
      long tookMs = (System.nanoTime() - crashed) / 1_000_000;
      FerryNode any = cluster.any();
      int members = 0;
      for (org.apache.pekko.cluster.Member m : Cluster.get(any.system()).state().getMembers()) {
        assertTrue(!m.address().toString().equals(address), "still a member: " + m);
        members++;
      }
      assertEquals(1, members);
      System.out.printf("crash probe: member removed %d ms after its crash%n", tookMs);
    }
  }

  @Test
  void theLeadersSweepRemovesAKilledMemberBeforeTheFailureDetectorCallsItUnreachable() throws Exception {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir, sites,
        ConfigFactory.parseString("pekko.cluster.split-brain-resolver.stable-after = 120s\nferry.security.allow-insecure = on\n"
            + "pekko.cluster.failure-detector.acceptable-heartbeat-pause = 60s\nferry.failover.crash-probe-interval = 100ms"),
        Duration.ofSeconds(120))) {
      // Live members answer every sweep: a second of sweeps downs nobody.
      Thread.sleep(1_000);
      for (org.apache.pekko.cluster.Member m : Cluster.get(cluster.any().system()).state().getMembers()) {
        assertEquals(org.apache.pekko.cluster.MemberStatus.up(), m.status(), m::toString);
      }
      // Not the leader: only the leader sweeps, and the others take a crashed leader for theirs until
      // the failure detector (a minute here) says otherwise; a new leader then probes it.
      org.apache.pekko.actor.Address leader = Cluster.get(cluster.any().system()).state().getLeader();
      FerryNode victim = cluster.live().stream().filter(n -> !n.address().equals(leader.toString())).reduce((a, b) -> b).orElseThrow();
      String address = victim.address();
      long crashed = System.nanoTime();
      victim.crash();
      cluster.awaitCrashedRemoved(Duration.ofSeconds(30)); // the failure detector alone would wait 60 s
      long tookMs = (System.nanoTime() - crashed) / 1_000_000;
      int members = 0;
      for (org.apache.pekko.cluster.Member m : Cluster.get(cluster.any().system()).state().getMembers()) {
        assertTrue(!m.address().toString().equals(address), "still a member: " + m);
        assertEquals(org.apache.pekko.cluster.MemberStatus.up(), m.status(), m::toString);
        members++;
      }
      assertEquals(2, members);
      System.out.printf("crash probe sweep: member removed %d ms after its crash%n", tookMs);
    }
  }
}
