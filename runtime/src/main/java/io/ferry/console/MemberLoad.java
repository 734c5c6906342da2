package io.ferry.console;

import io.ferry.persistence.CborSerializable;
import java.util.List;

/**
 * What one member says about itself for the console: CPU and heap, and the running totals of the
 * timers the console turns into latencies (a node's batch timer, a volume's on-demand fetch
 * timer). Totals, not rates, so whoever asks computes the rate over its own interval.
 *
 * @param cpu the process's recent CPU use, 0..1; negative when the JVM does not tell
 * @param heapMaxBytes negative when the heap has no limit
 */
public record MemberLoad(String address, double cpu, long heapUsedBytes, long heapMaxBytes, List<TimerTotal> nodeBatches, List<TimerTotal> volumeFetches)
    implements CborSerializable {

  public MemberLoad {
    nodeBatches = List.copyOf(nodeBatches);
    volumeFetches = List.copyOf(volumeFetches);
  }

  /**
   * A timer's totals on this member.
   *
   * @param key {@code query/node} for a node's batches, the volume id for on-demand fetches
   */
  public record TimerTotal(String key, long count, double totalMillis) implements CborSerializable {}
}
