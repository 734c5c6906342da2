package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One task as submitted: what runs ({@code kind} and its {@code parameters}), how often a pool may
 * try it ({@code retryCount} attempts per pool), how long a lease lasts without a renewal, where it
 * may run (an optional site and tier), and the attempts it may spend across all pools.
 *
 * @param attemptBudget attempts across every pool; 0 means {@code retryCount} times the number of
 *     pools that satisfy the constraints when the job is submitted
 */
public record TaskSpec(
    String name,
    String kind,
    Map<String, String> parameters,
    int retryCount,
    Duration leaseDuration,
    Optional<Site> site,
    Optional<Tier> tier,
    int attemptBudget)
    implements CborSerializable {

  public static final int PARAMETERS_MAX = 64;
  public static final int PARAMETER_CHARS_MAX = 8192;
  public static final int RETRY_COUNT_MAX = 100;
  public static final int ATTEMPT_BUDGET_MAX = 1000;
  public static final Duration LEASE_MIN = Duration.ofMillis(100);
  public static final Duration LEASE_MAX = Duration.ofHours(1);

  public TaskSpec {
    TaskId.checkName(name);
    if (kind == null || kind.isBlank()) {
      throw new IllegalArgumentException("task " + name + ": the kind is empty");
    }
    parameters = parameters == null ? Map.of() : Map.copyOf(new TreeMap<>(parameters));
    if (parameters.size() > PARAMETERS_MAX) {
      throw new IllegalArgumentException("task " + name + ": at most " + PARAMETERS_MAX + " parameters, got " + parameters.size());
    }
    for (var e : parameters.entrySet()) {
      if (e.getKey().length() + e.getValue().length() > PARAMETER_CHARS_MAX) {
        throw new IllegalArgumentException("task " + name + ": parameter '" + e.getKey() + "' is longer than " + PARAMETER_CHARS_MAX + " characters");
      }
    }
    if (retryCount < 1 || retryCount > RETRY_COUNT_MAX) {
      throw new IllegalArgumentException("task " + name + ": the retry count (attempts per pool) must be between 1 and " + RETRY_COUNT_MAX + ", got " + retryCount);
    }
    if (leaseDuration == null || leaseDuration.compareTo(LEASE_MIN) < 0 || leaseDuration.compareTo(LEASE_MAX) > 0) {
      throw new IllegalArgumentException("task " + name + ": the lease duration must be between " + LEASE_MIN + " and " + LEASE_MAX + ", got " + leaseDuration);
    }
    site = site == null ? Optional.empty() : site;
    tier = tier == null ? Optional.empty() : tier;
    if (attemptBudget < 0 || attemptBudget > ATTEMPT_BUDGET_MAX) {
      throw new IllegalArgumentException("task " + name + ": the attempt budget must be between 0 (default) and " + ATTEMPT_BUDGET_MAX + ", got " + attemptBudget);
    }
    if (attemptBudget > 0 && attemptBudget < retryCount) {
      // A budget below one pool's attempts would make the retry count a lie.
      throw new IllegalArgumentException("task " + name + ": the attempt budget " + attemptBudget + " is below the retry count " + retryCount);
    }
  }

  /** A task without constraints and with the default budget. */
  public static TaskSpec of(String name, String kind, Map<String, String> parameters, int retryCount, Duration leaseDuration) {
    return new TaskSpec(name, kind, parameters, retryCount, leaseDuration, Optional.empty(), Optional.empty(), 0);
  }

  public TaskSpec withSite(Site s) {
    return new TaskSpec(name, kind, parameters, retryCount, leaseDuration, Optional.of(s), tier, attemptBudget);
  }

  public TaskSpec withTier(Tier t) {
    return new TaskSpec(name, kind, parameters, retryCount, leaseDuration, site, Optional.of(t), attemptBudget);
  }

  public TaskSpec withAttemptBudget(int budget) {
    return new TaskSpec(name, kind, parameters, retryCount, leaseDuration, site, tier, budget);
  }

  /** Whether {@code pool} may run this task. */
  public boolean satisfiedBy(PoolSpec pool) {
    return site.map(s -> s.equals(pool.site())).orElse(true) && tier.map(t -> t == pool.tier()).orElse(true);
  }

  /** The constraints in words, for errors. */
  public String constraints() {
    if (site.isEmpty() && tier.isEmpty()) {
      return "no constraint";
    }
    return (site.map(s -> "site " + s).orElse("") + (site.isPresent() && tier.isPresent() ? " and " : "") + tier.map(t -> "tier " + t).orElse(""));
  }
}
