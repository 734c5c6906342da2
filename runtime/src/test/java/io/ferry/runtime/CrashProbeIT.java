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
 * probe can remove it within the test's bound.
 */
class CrashProbeIT {
  @TempDir Path dir;

  @Test
  void aMemberWhosePortRefusesIsDownedBeforeStableAfter() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir, sites,
        ConfigFactory.parseString("pekko.cluster.split-brain-resolver.stable-after = 120s\nferry.security.allow-insecure = on"),
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
}
