package io.ferry.tasks;

import java.util.Map;

/** Reads numeric task parameters with bounds and clear errors. */
final class Params {
  private Params() {}

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
