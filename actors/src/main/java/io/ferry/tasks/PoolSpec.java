package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;

/**
 * A pool as the queue knows it: where its slots are (one site, so one tier) and the bounds its
 * scheduler sizes it within.
 */
public record PoolSpec(PoolId id, Site site, Tier tier, int slotsMin, int slotsMax) implements CborSerializable {
  public static final int SLOTS_MAX = 10_000;

  public PoolSpec {
    if (id == null || site == null || tier == null) {
      throw new IllegalArgumentException("a pool needs an id, a site and a tier");
    }
    if (slotsMin < 0 || slotsMax < 1 || slotsMin > slotsMax || slotsMax > SLOTS_MAX) {
      throw new IllegalArgumentException("pool " + id + ": slots must satisfy 0 <= min <= max, 1 <= max <= " + SLOTS_MAX + ", got min " + slotsMin + " max " + slotsMax);
    }
  }
}
