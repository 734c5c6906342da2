package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A whole multi-site cluster in one JVM: each member its own {@code ActorSystem} on loopback, all
 * sharing one H2 journal under one data directory. Used by the demo, the benchmark and the
 * integration tests; a real deployment runs one member per process instead.
 */
public final class LocalCluster implements AutoCloseable {

  private final Path dataDir;
  private final Config overrides;
  private final String seed;
  private final List<FerryNode> members = new ArrayList<>();
  private int seedHttpPort;

  private LocalCluster(Path dataDir, Config overrides, int seedPort) {
    this.dataDir = dataDir;
    this.overrides = overrides;
    this.seed = "pekko://" + MemberSettings.SYSTEM_NAME + "@127.0.0.1:" + seedPort;
  }

  /**
   * Starts one member per entry of {@code sites} (site name → tier), the first as the seed, and
   * waits until all are Up.
   */
  public static LocalCluster start(Path dataDir, Map<String, String> sites, Config overrides, Duration timeout) {
    return start(dataDir, sites, overrides, timeout, 0);
  }

  /** As above; the first member's management endpoint listens on {@code seedHttpPort} (0: any free port). */
  public static LocalCluster start(Path dataDir, Map<String, String> sites, Config overrides, Duration timeout, int seedHttpPort) {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    LocalCluster cluster = new LocalCluster(dataDir, overrides, freePort());
    cluster.seedHttpPort = seedHttpPort;
    try {
      boolean first = true;
      for (Map.Entry<String, String> e : sites.entrySet()) {
        cluster.startMember(e.getKey(), e.getValue(), ConfigFactory.empty(), first);
        first = false;
      }
      cluster.awaitAllUp(timeout);
      return cluster;
    } catch (RuntimeException | Error e) {
      // The members that did start are stopped too: a failed start leaves nothing running.
      try {
        cluster.crashAll();
        FerryNode.awaitThreadsOfSystem(before);
      } catch (RuntimeException stopFailed) {
        e.addSuppressed(stopFailed);
      }
      throw e;
    }
  }

  /** Starts another member at {@code site} (e.g. a replacement for a crashed one). */
  public FerryNode startMember(String site, String tier) {
    return startMember(site, tier, ConfigFactory.empty(), false);
  }

  /**
   * Starts another member whose settings differ from the cluster's by {@code extra} (e.g. a test
   * that held the background copy off releases it in the replacement of a crashed member).
   */
  public FerryNode startMember(String site, String tier, Config extra) {
    return startMember(site, tier, extra, false);
  }

  private FerryNode startMember(String site, String tier, Config extra, boolean isSeed) {
    int port = isSeed ? Integer.parseInt(seed.substring(seed.lastIndexOf(':') + 1)) : 0;
    // A later member joins through every live member, so it can join after the first seed died.
    List<String> seeds = new ArrayList<>();
    if (isSeed) {
      seeds.add(seed);
    } else {
      live().forEach(n -> seeds.add(n.address()));
    }
    Map<String, Object> m = new HashMap<>();
    m.put("ferry.member.tier", tier);
    m.put("ferry.member.site", site);
    m.put("ferry.member.host", "127.0.0.1");
    m.put("ferry.member.port", port);
    m.put("ferry.member.seed-nodes", seeds);
    m.put("ferry.member.data-dir", dataDir.toString());
    if (!overrides.hasPath("ferry.http.port")) {
      m.put("ferry.http.port", isSeed ? seedHttpPort : 0); // every member of this JVM binds its own endpoint
    }
    if (!overrides.hasPath("ferry.placement.measured-load") && !extra.hasPath("ferry.placement.measured-load")) {
      // Members sharing a JVM: its process CPU would count every member's work (and, on a busy
      // machine, nothing of theirs) at every site, and move the planner's nodes by the host's load.
      m.put("ferry.placement.measured-load", "nodes");
    }
    FerryNode node = FerryNode.start(ConfigFactory.parseMap(m).withFallback(extra).withFallback(overrides));
    synchronized (members) {
      members.add(node);
    }
    return node;
  }

  public void awaitAllUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (FerryNode n : live()) {
      n.awaitUp(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
    }
    FerryNode any = live().get(0);
    while (true) {
      long up = 0;
      for (var member : Cluster.get(any.system()).state().getMembers()) {
        if (member.status() == MemberStatus.up()) {
          up++;
        }
      }
      if (up >= live().size()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + up + " of " + live().size() + " members came up within " + timeout);
      }
      sleep(20);
    }
  }

  /** Members that have not been crashed or closed. */
  public List<FerryNode> live() {
    synchronized (members) {
      return members.stream().filter(n -> !n.system().whenTerminated().isCompleted()).toList();
    }
  }

  /** The live member at {@code site} (the first, if there are several). */
  public FerryNode member(String site) {
    return live().stream()
        .filter(n -> n.settings().site().equals(site))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no live member at site " + site));
  }

  /** The live member whose address is {@code address}. */
  public FerryNode memberAt(String address) {
    return live().stream()
        .filter(n -> n.address().equals(address))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no live member at " + address));
  }

  /** The management endpoint URL of the live member at {@code site}. */
  public String httpUrl(String site) {
    return member(site)
        .httpUrl()
        .orElseThrow(() -> new IllegalStateException("the member at site " + site + " runs no management endpoint (ferry.http.enabled = off)"));
  }

  /** Any live member, for API calls. */
  public FerryNode any() {
    return live().get(0);
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Waits until the survivors have removed every crashed member (the split-brain resolver downed it). */
  public void awaitCrashedRemoved(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      FerryNode any = any();
      long members = 0;
      for (var member : Cluster.get(any.system()).state().getMembers()) {
        members++;
      }
      if (members == live().size() && Cluster.get(any.system()).state().getUnreachable().isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("crashed members were not removed within " + timeout);
      }
      sleep(50);
    }
  }

  @Override
  public void close() {
    List<FerryNode> all = new ArrayList<>(live());
    // Leave in reverse start order so the seed goes last.
    for (int i = all.size() - 1; i >= 0; i--) {
      try {
        all.get(i).close();
      } catch (RuntimeException e) {
        all.get(i).crash();
      }
    }
  }

  private void crashAll() {
    // Every member started, not only the live ones: a member whose system is already terminating
    // may still be closing its block resources, and crash() waits for that too.
    List<FerryNode> all;
    synchronized (members) {
      all = List.copyOf(members);
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      all.get(i).crash();
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException("no free port on loopback", e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
