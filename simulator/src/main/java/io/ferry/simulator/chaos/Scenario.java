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
 * with errors that name the setting.
 */
public record Scenario(
    String name,
    Map<String, Site> sites,
    long recordsPerSource,
    long ratePerSource,
    Duration faultWindow,
    Map<String, Integer> faults,
    Duration livenessBound) {

  public record Site(String tier, int members) {}

  public static final java.util.Set<String> FAULT_KINDS = java.util.Set.of("migration", "member-crash");

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
      for (String needed : new String[] {"cloud", "edge-a", "edge-b"}) {
        if (!sites.containsKey(needed)) {
          throw new IllegalArgumentException("scenario.sites must include " + needed + " (the sample query runs there)");
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
      long records = c.getLong("query.records-per-source");
      long rate = c.getLong("query.rate-per-source");
      if (records < 1 || rate < 1) {
        throw new IllegalArgumentException("scenario.query.records-per-source and rate-per-source must be positive");
      }
      return new Scenario(c.getString("name"), sites, records, rate, c.getDuration("fault-window"), faults, c.getDuration("liveness-bound"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("invalid scenario " + file + ": " + e.getMessage(), e);
    }
  }
}
