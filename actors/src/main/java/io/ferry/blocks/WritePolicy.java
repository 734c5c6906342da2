package io.ferry.blocks;

import java.util.Arrays;
import java.util.Locale;

/**
 * Where a volume's writes at the target persist (seed 002, §2.8.1), changeable while it runs.
 *
 * <ul>
 *   <li>{@link #TARGET_ONLY} (cloud-only persistence): writes stay at the target; the source never
 *       sees them unless the migration is aborted or reversed, which ship them then.
 *   <li>{@link #WRITE_BACK} (on-prem persistence, deferred write mode): a write is durable at the
 *       target before it is acknowledged and is shipped to the source in batches bounded by an RPO
 *       and a size ({@link io.ferry.blocks.writeback.WriteBackAggregator}).
 * </ul>
 */
public enum WritePolicy {
  TARGET_ONLY("target-only"),
  WRITE_BACK("write-back");

  private final String word;

  WritePolicy(String word) {
    this.word = word;
  }

  /** The word the CLI, the API and the settings use. */
  public String word() {
    return word;
  }

  /** Parses {@link #word()} (case-insensitive); the error lists the words accepted. */
  public static WritePolicy parse(String word) {
    String w = word == null ? "" : word.trim().toLowerCase(Locale.ROOT);
    for (WritePolicy p : values()) {
      if (p.word.equals(w)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown write policy '" + word + "'; one of " + Arrays.stream(values()).map(WritePolicy::word).toList());
  }
}
