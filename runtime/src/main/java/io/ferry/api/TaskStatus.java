package io.ferry.api;

import java.util.Map;
import java.util.Optional;

/**
 * One task of a job: its kind and state, the pool that holds (or last held) it, attempts per pool,
 * the lease's holder and expiry (epoch ms) while leased, and its outcome and reason once ended
 * (the reason of the last failed attempt while it is retried).
 */
public record TaskStatus(
    String id,
    String kind,
    String state,
    Optional<String> pool,
    Map<String, Integer> attempts,
    Optional<String> leaseHolder,
    Optional<Long> leaseExpiresAt,
    Optional<String> outcome,
    Optional<String> reason,
    Optional<String> output) {}
