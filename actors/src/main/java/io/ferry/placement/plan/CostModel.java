package io.ferry.placement.plan;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.util.HashMap;
import java.util.Map;

/**
 * What a placement costs per second: compute (price per core-second at each tier), WAN bytes
 * (price per GB per site pair, the same both ways) and latency ({@code latencyWeight}: price per
 * second of one-way WAN delay on every query edge that crosses sites, per second of running). The
 * latency term is per edge, not per path, so the two-tier problem stays an exact minimum cut; on a
 * chain placed edge-then-cloud it equals the end-to-end delay the WAN adds.
 */
public record CostModel(
    Map<Tier, Double> corePricePerSecond, double wanPricePerGb, Map<String, Double> wanPricePerGbByPair, double latencyWeight) {

  public CostModel {
    corePricePerSecond = Map.copyOf(corePricePerSecond);
    wanPricePerGbByPair = Map.copyOf(wanPricePerGbByPair);
    for (Tier t : Tier.values()) {
      Double p = corePricePerSecond.get(t);
      if (p == null || !(p >= 0)) {
        throw new IllegalArgumentException("ferry.placement.cost.core-second." + t + " must be a price >= 0, got " + p);
      }
    }
    if (!(wanPricePerGb >= 0) || !(latencyWeight >= 0) || wanPricePerGbByPair.values().stream().anyMatch(p -> !(p >= 0))) {
      throw new IllegalArgumentException("ferry.placement.cost: WAN prices and the latency weight must be >= 0");
    }
  }

  /** Defaults in the spirit of public list prices: edge cores dearer than cloud ones, WAN 0.09 per GB. */
  public static CostModel defaults() {
    return new CostModel(Map.of(Tier.EDGE, 0.00004, Tier.CLOUD, 0.00001), 0.09, Map.of(), 0.0001);
  }

  /** Reads {@code ferry.placement.cost} (see reference.conf), naming the setting that is wrong. */
  public static CostModel fromConfig(Config placement) {
    try {
      Config c = placement.getConfig("cost");
      Map<Tier, Double> core = new HashMap<>();
      for (Tier t : Tier.values()) {
        core.put(t, c.getDouble("core-second." + t.label()));
      }
      Map<String, Double> pairs = new HashMap<>();
      for (Config p : c.getConfigList("wan-per-gb.pairs")) {
        pairs.put(key(Site.of(p.getString("a")), Site.of(p.getString("b"))), p.getDouble("price"));
      }
      return new CostModel(core, c.getDouble("wan-per-gb.default"), pairs, c.getDouble("latency-weight"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("invalid ferry.placement.cost: " + e.getMessage(), e);
    }
  }

  static String key(Site a, Site b) {
    return a.compareTo(b) <= 0 ? a + "|" + b : b + "|" + a;
  }

  public double corePrice(Tier t) {
    return corePricePerSecond.get(t);
  }

  public double wanPricePerByte(Site a, Site b) {
    return wanPricePerGbByPair.getOrDefault(key(a, b), wanPricePerGb) / 1e9;
  }

  /** The price per second of an edge carrying {@code bytesPerSec} between {@code a} and {@code b}. */
  public double crossing(Site a, Site b, double bytesPerSec, Topology topology) {
    if (a.equals(b)) {
      return 0;
    }
    return bytesPerSec * wanPricePerByte(a, b) + latencyWeight * topology.link(a, b).oneWaySeconds();
  }
}
