package io.ferry.simulator.chaos;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A real-stack chaos scenario, read once from a HOCON file ({@code config/scenarios/}) and checked,
 * with errors that name the setting. A scenario runs the sample query ({@code query}), volume
 * migrations ({@code volumes}), or both; {@code link} shapes the block links like a WAN.
 *
 * @param recordsPerSource records each source of the sample query emits; 0 when the scenario has no query
 */
public record Scenario(
    String name,
    Map<String, Site> sites,
    long recordsPerSource,
    long ratePerSource,
    Duration faultWindow,
    Map<String, Integer> faults,
    Duration livenessBound,
    Volumes volumes,
    Link link) {

  public record Site(String tier, int members) {}

  /** {@code count} volumes of {@code sizeMiB} (about half zero blocks) migrate source → target while a client reads and writes them. */
  public record Volumes(int count, int sizeMiB, int blockSizeBytes, String sourceSite, String targetSite, int opsPerSecond, String writePolicy, String end) {
    public static final Volumes NONE = new Volumes(0, 0, 65536, "", "", 0);

    /** Target-only writes, and the volumes are left copied at the end (the scenarios before issue 14). */
    public Volumes(int count, int sizeMiB, int blockSizeBytes, String sourceSite, String targetSite, int opsPerSecond) {
      this(count, sizeMiB, blockSizeBytes, sourceSite, targetSite, opsPerSecond, "target-only", "none");
    }
  }

  /** WAN emulation of the block links and block control messages. */
  public record Link(Duration oneWayDelay, String bandwidth, double loss) {
    public static final Link NONE = new Link(Duration.ZERO, "0", 0.0);
  }

  public boolean hasQuery() {
    return recordsPerSource > 0;
  }

  public static final java.util.Set<String> FAULT_KINDS = java.util.Set.of("migration", "member-crash", "frontend-crash", "backend-crash", "site-partition");

  public static Scenario load(Path file) {
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("cannot read scenario file " + file.toAbsolutePath());
    }
    try {
      Config c = ConfigFactory.parseFile(file.toFile()).resolve().getConfig("scenario");
      Map<String, Site> sites = new LinkedHashMap<>();
      for (String site : c.getConfig("sites").root().keySet()) {
        Config s = c.getConfig("sites").getConfig(site);
        String tier = s.getString("tier");
        if (!tier.equals("edge") && !tier.equals("cloud")) {
          throw new IllegalArgumentException("scenario.sites." + site + ".tier must be edge or cloud, got " + tier);
        }
        int members = s.getInt("members");
        if (members < 1 || members > 5) {
          throw new IllegalArgumentException("scenario.sites." + site + ".members must be 1..5, got " + members);
        }
        sites.put(site, new Site(tier, members));
      }
      boolean query = c.hasPath("query");
      for (String needed : new String[] {"cloud", "edge-a", "edge-b"}) {
        if (!sites.containsKey(needed)) {
          throw new IllegalArgumentException("scenario.sites must include " + needed + " (the sample query runs there and the registries on edge-b)");
        }
      }
      Map<String, Integer> faults = new LinkedHashMap<>();
      for (String kind : c.getConfig("faults").root().keySet()) {
        if (!FAULT_KINDS.contains(kind)) {
          throw new IllegalArgumentException("scenario.faults." + kind + " is not a fault this runner injects; known: " + FAULT_KINDS);
        }
        int n = c.getInt("faults." + kind);
        if (n < 0 || n > 50) {
          throw new IllegalArgumentException("scenario.faults." + kind + " must be 0..50, got " + n);
        }
        faults.put(kind, n);
      }
      long records = 0;
      long rate = 0;
      if (query) {
        records = c.getLong("query.records-per-source");
        rate = c.getLong("query.rate-per-source");
        if (records < 1 || rate < 1) {
          throw new IllegalArgumentException("scenario.query.records-per-source and rate-per-source must be positive");
        }
      }
      Volumes volumes = Volumes.NONE;
      if (c.hasPath("volumes")) {
        Config v = c.getConfig("volumes");
        // write-policy (target-only, write-back) while the client runs; end (none, reverse: cut over
        // then reverse, abort) once it stopped, after which the source must hold every acknowledged write.
        volumes = new Volumes(v.getInt("count"), v.getInt("size-mib"), (int) v.getBytes("block-size").longValue(), v.getString("source-site"), v.getString("target-site"), v.getInt("ops-per-second"),
            io.ferry.blocks.WritePolicy.parse(v.hasPath("write-policy") ? v.getString("write-policy") : "target-only").word(),
            v.hasPath("end") ? v.getString("end") : "none");
        if (!java.util.Set.of("none", "reverse", "abort").contains(volumes.end())) {
          throw new IllegalArgumentException("scenario.volumes.end must be none, reverse or abort, got " + volumes.end());
        }
        if (volumes.count() < 1 || volumes.count() > 4) {
          throw new IllegalArgumentException("scenario.volumes.count must be 1..4, got " + volumes.count());
        }
        if (volumes.sizeMiB() < 1 || volumes.sizeMiB() > 256) {
          throw new IllegalArgumentException("scenario.volumes.size-mib must be 1..256 (the reference is kept in memory), got " + volumes.sizeMiB());
        }
        if (!sites.containsKey(volumes.sourceSite()) || !sites.containsKey(volumes.targetSite())) {
          throw new IllegalArgumentException("scenario.volumes.source-site and target-site must be sites of the scenario, got " + volumes.sourceSite() + " and " + volumes.targetSite());
        }
        if (volumes.opsPerSecond() < 0 || volumes.opsPerSecond() > 1000) {
          throw new IllegalArgumentException("scenario.volumes.ops-per-second must be 0..1000, got " + volumes.opsPerSecond());
        }
      }
      if (!query && volumes.count() == 0) {
        throw new IllegalArgumentException("scenario needs a query section, a volumes section, or both");
      }
      if (volumes.count() == 0 && (faults.getOrDefault("frontend-crash", 0) > 0 || faults.getOrDefault("backend-crash", 0) > 0)) {
        throw new IllegalArgumentException("scenario.faults frontend-crash and backend-crash need a volumes section");
      }
      if (!query && faults.getOrDefault("migration", 0) > 0) {
        throw new IllegalArgumentException("scenario.faults.migration moves query nodes: it needs a query section");
      }
      Link link = Link.NONE;
      if (c.hasPath("link")) {
        Config l = c.getConfig("link");
        link = new Link(l.getDuration("one-way-delay"), l.getString("bandwidth"), l.getDouble("loss"));
        if (link.loss() < 0 || link.loss() > 0.2) {
          throw new IllegalArgumentException("scenario.link.loss must be 0..0.2, got " + link.loss());
        }
      }
      return new Scenario(c.getString("name"), sites, records, rate, c.getDuration("fault-window"), faults, c.getDuration("liveness-bound"), volumes, link);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("invalid scenario " + file + ": " + e.getMessage(), e);
    }
  }
}
