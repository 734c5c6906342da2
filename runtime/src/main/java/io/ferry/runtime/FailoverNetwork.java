package io.ferry.runtime;

import com.typesafe.config.Config;

/**
 * Applies {@code ferry.failover.network}: {@code lan} keeps the failure detection, downing and
 * removal settings of Ferry's reference configuration (loopback or one LAN: a crash fails over in
 * seconds); {@code wan} lays the {@code ferry.failover.wan} block over them (members across sites).
 * What the member's own file sets wins over either.
 */
final class FailoverNetwork {
  private FailoverNetwork() {}

  /** {@code user} over the chosen network's settings over {@code defaults}. */
  static Config apply(Config user, Config defaults) {
    Config merged = user.withFallback(defaults);
    String network = merged.getString("ferry.failover.network");
    return switch (network) {
      case "lan" -> merged;
      case "wan" -> user.withFallback(merged.getConfig("ferry.failover.wan")).withFallback(defaults);
      default -> throw new IllegalArgumentException("ferry.failover.network must be lan or wan, got '" + network + "'");
    };
  }
}
