package io.ferry.http;

import java.util.Locale;

/**
 * What a management token may do. Roles are ordered: {@code admin} may do what {@code operate}
 * may, which may do what {@code read} may, so a route names the least role it needs.
 */
public enum Role {
  /** Status, metrics, lists: nothing changes. */
  READ,
  /** Migrations, volumes, jobs, plans: moves work, never adds or removes it. */
  OPERATE,
  /** Deploy, undeploy, the cluster itself, the audit log. */
  ADMIN;

  public boolean allows(Role needed) {
    return compareTo(needed) >= 0;
  }

  /** Its name in configuration and in the audit log: {@code read}, {@code operate}, {@code admin}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Reads a role's configured name; anything else names the three. */
  public static Role parse(String label) {
    for (Role r : values()) {
      if (r.label().equals(label)) {
        return r;
      }
    }
    throw new IllegalArgumentException("a role is one of read, operate, admin; got '" + label + "'");
  }
}
