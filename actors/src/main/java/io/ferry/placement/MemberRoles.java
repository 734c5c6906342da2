package io.ferry.placement;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The one place that turns a member's site and tier into cluster roles and back. Every member
 * carries {@link #WORKER}, its tier's label ({@code edge} or {@code cloud}) and {@code site-<name>}.
 */
public final class MemberRoles {
  /** Carried by every member that hosts logic nodes and volumes; sharding runs on it. */
  public static final String WORKER = "worker";

  private static final String SITE_PREFIX = "site-";

  private MemberRoles() {}

  public static String siteRole(Site site) {
    return SITE_PREFIX + site.name();
  }

  public static String tierRole(Tier tier) {
    return tier.label();
  }

  /** The roles a worker member at {@code site} of {@code tier} joins with. */
  public static List<String> of(Site site, Tier tier) {
    return List.of(WORKER, tierRole(tier), siteRole(site));
  }

  /** The site a member's roles name, if any. */
  public static Optional<Site> site(Collection<String> roles) {
    for (String r : roles) {
      if (r.startsWith(SITE_PREFIX) && r.length() > SITE_PREFIX.length()) {
        return Optional.of(new Site(r.substring(SITE_PREFIX.length())));
      }
    }
    return Optional.empty();
  }

  /** The tier a member's roles name, if any. */
  public static Optional<Tier> tier(Collection<String> roles) {
    for (Tier t : Tier.values()) {
      if (roles.contains(tierRole(t))) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
