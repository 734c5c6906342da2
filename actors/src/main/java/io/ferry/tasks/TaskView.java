package io.ferry.tasks;

import java.util.Map;
import java.util.Optional;

/**
 * A task as status shows it: its state, the pool that holds it (or last held it), attempts per
 * pool, the current lease's holder and expiry, and its outcome.
 *
 * @param outcome "succeeded", "failed" or "cancelled" once ended
 * @param reason why it failed or was cancelled, or the last failed attempt's reason while it runs
 * @param output the successful attempt's output (bounded)
 */
public record TaskView(
    TaskId id,
    String kind,
    TaskState state,
    Optional<PoolId> pool,
    Map<PoolId, Integer> attempts,
    Optional<String> leaseHolder,
    Optional<Long> leaseExpiresAtMillis,
    Optional<String> outcome,
    Optional<String> reason,
    Optional<String> output) {

  public int attemptsTotal() {
    return attempts.values().stream().mapToInt(Integer::intValue).sum();
  }
}
