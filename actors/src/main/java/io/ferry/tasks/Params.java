package io.ferry.tasks;

import java.util.List;
import java.util.Map;

/** Reads task parameters with bounds and clear errors. */
final class Params {
  private Params() {}

  /** Refuses a parameter a kind does not know, naming the ones it does (in {@code known}'s order). */
  static void checkKnown(Map<String, String> p, List<String> known) {
    for (String k : p.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("unknown parameter '" + k + "' (known: " + String.join(", ", known) + ")");
      }
    }
  }

  static long longIn(Map<String, String> p, String key, long dflt, long min, long max) {
    String s = p.get(key);
    if (s == null) {
      return dflt;
    }
    long v;
    try {
      v = Long.parseLong(s.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("parameter '" + key + "' must be a whole number, got '" + s + "'");
    }
    if (v < min || v > max) {
      throw new IllegalArgumentException("parameter '" + key + "' must be between " + min + " and " + max + ", got " + v);
    }
    return v;
  }
}
