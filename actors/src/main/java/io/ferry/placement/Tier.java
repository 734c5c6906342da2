package io.ferry.placement;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The two kinds of site: the edge (near the data, may see PII) and the cloud. */
public enum Tier {
  EDGE,
  CLOUD;

  /** The lower-case name used in configuration, cluster roles and JSON. */
  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static Tier parse(String s) {
    if (s != null) {
      for (Tier t : values()) {
        if (t.label().equals(s)) {
          return t;
        }
      }
    }
    throw new IllegalArgumentException("a tier must be edge or cloud, got '" + s + "'");
  }

  @Override
  public String toString() {
    return label();
  }
}
