package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What one cluster member is: its tier, site, address, seed nodes and data directory, read once
 * from {@code ferry.member} and checked, with errors that name the setting.
 */
public record MemberSettings(String tier, String site, String host, int port, List<String> seedNodes, Path dataDir) {

  public static final String WORKER_ROLE = "worker";
  public static final String SYSTEM_NAME = "ferry";
  private static final Pattern SITE = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

  public MemberSettings {
    if (!tier.equals("edge") && !tier.equals("cloud")) {
      throw new IllegalArgumentException("ferry.member.tier must be edge or cloud, got '" + tier + "'");
    }
    if (!SITE.matcher(site).matches()) {
      throw new IllegalArgumentException(
          "ferry.member.site must be lower-case letters, digits and '-', got '" + site + "'");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("ferry.member.port must be 0..65535, got " + port);
    }
    for (String seed : seedNodes) {
      if (!seed.startsWith("pekko://" + SYSTEM_NAME + "@")) {
        throw new IllegalArgumentException(
            "ferry.member.seed-nodes entries must look like pekko://" + SYSTEM_NAME + "@host:port, got '" + seed + "'");
      }
    }
    seedNodes = List.copyOf(seedNodes);
  }

  public static MemberSettings from(Config config) {
    try {
      Config c = config.getConfig("ferry.member");
      return new MemberSettings(
          c.getString("tier"),
          c.getString("site"),
          c.getString("host"),
          c.getInt("port"),
          c.getStringList("seed-nodes"),
          Path.of(c.getString("data-dir")));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("invalid member configuration: " + e.getMessage(), e);
    }
  }

  public String siteRole() {
    return siteRole(site);
  }

  public static String siteRole(String site) {
    return "site-" + site;
  }

  public List<String> roles() {
    return List.of(WORKER_ROLE, tier, siteRole());
  }
}
