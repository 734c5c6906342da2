package io.ferry.placement.plan;

import java.util.Locale;

/** Human-readable rates for reasons and reports (decimal units, as link speeds are quoted). */
public final class Rates {
  private Rates() {}

  public static String bytes(double perSec) {
    if (perSec >= 1e9) {
      return String.format(Locale.ROOT, "%.1f GB/s", perSec / 1e9);
    } else if (perSec >= 1e6) {
      return String.format(Locale.ROOT, "%.1f MB/s", perSec / 1e6);
    } else if (perSec >= 1e3) {
      return String.format(Locale.ROOT, "%.0f KB/s", perSec / 1e3);
    }
    return String.format(Locale.ROOT, "%.0f B/s", perSec);
  }
}
