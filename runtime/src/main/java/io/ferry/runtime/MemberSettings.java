package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What one cluster member is: its tier, site, address, seed nodes and data directory, read once
 * from {@code ferry.member} and checked, with errors that name the setting.
 */
public record MemberSettings(String tier, String site, String host, int port, List<String> seedNodes, Path dataDir) {

  /** The role sharding and the registries' singletons run on; {@link MemberRoles} gives it to every member. */
  public static final String WORKER_ROLE = MemberRoles.WORKER;
  public static final String SYSTEM_NAME = "ferry";
  private static final Pattern SITE = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern SEED = Pattern.compile("pekko://" + SYSTEM_NAME + "@[^@/\\s]+:[0-9]{1,5}");

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
      if (!SEED.matcher(seed).matches()) {
        throw new IllegalArgumentException(
            "ferry.member.seed-nodes entries must look like pekko://" + SYSTEM_NAME + "@host:port, got '" + seed + "'");
      }
    }
    seedNodes = List.copyOf(seedNodes);
  }

  public static MemberSettings from(Config config) {
    // Full paths, so Typesafe Config's own errors name ferry.member.port rather than port.
    String p = "ferry.member.";
    try {
      return new MemberSettings(
          config.getString(p + "tier"),
          config.getString(p + "site"),
          config.getString(p + "host"),
          config.getInt(p + "port"),
          config.getStringList(p + "seed-nodes"),
          Path.of(config.getString(p + "data-dir")));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("invalid member configuration: " + e.getMessage(), e);
    }
  }

  public String siteRole() {
    return MemberRoles.siteRole(Site.of(site));
  }

  public List<String> roles() {
    return MemberRoles.of(Site.of(site), Tier.parse(tier));
  }
}
