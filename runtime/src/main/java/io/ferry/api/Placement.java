package io.ferry.api;

import java.util.LinkedHashMap;
import java.util.Map;

/** Which site runs each logic node of a query: node id → site name (e.g. {@code edge-a}, {@code cloud}). */
public record Placement(Map<String, String> sites) {
  public Placement {
    sites = Map.copyOf(sites);
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private final Map<String, String> sites = new LinkedHashMap<>();

    public Builder place(String site, String... nodes) {
      for (String n : nodes) {
        sites.put(n, site);
      }
      return this;
    }

    public Placement build() {
      return new Placement(sites);
    }
  }
}
