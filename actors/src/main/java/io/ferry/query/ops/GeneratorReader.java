package io.ferry.query.ops;

import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The seeded source: row {@code i} (its anchor) is a pure function of (seed, i), so any anchor
 * replays exactly, however the reads were chunked. Pacing to {@code ratePerSecond} is the source
 * node's job, not this reader's.
 */
public final class GeneratorReader implements SourceReader {
  /** Above this many keys the key names are built per row instead of cached. */
  private static final int KEY_NAMES_CACHED_MAX = 100_000;

  private static final int OWNERS = 1000;
  private static final String[] OWNER_NAMES = new String[OWNERS];

  static {
    for (int i = 0; i < OWNERS; i++) {
      OWNER_NAMES[i] = "user-" + i;
    }
  }

  private final OperatorSpec.Generate spec;
  private final String[] keyNames;

  public GeneratorReader(OperatorSpec.Generate spec) {
    this.spec = spec;
    this.keyNames = new String[Math.min(spec.keys(), KEY_NAMES_CACHED_MAX)];
    for (int i = 0; i < keyNames.length; i++) {
      keyNames[i] = "k" + i;
    }
  }

  @Override
  public Read read(long anchor, int max) {
    if (anchor < 0 || max < 0) {
      throw new IllegalArgumentException("generator: anchor and max must be >= 0, got " + anchor + ", " + max);
    }
    long count = spec.count();
    if (count >= 0 && anchor > count) {
      throw new IllegalArgumentException(
          "generator: anchor " + anchor + " is past the end of a source of " + count + " rows");
    }
    long n = count < 0 ? max : Math.min(max, count - anchor);
    List<Row> rows = new ArrayList<>((int) n);
    for (long i = anchor; i < anchor + n; i++) {
      rows.add(row(i));
    }
    long next = anchor + n;
    return new Read(rows, next, count >= 0 && next == count);
  }

  /** Row {@code i}; the draws happen in a fixed order (key, value, jitter, owner). */
  Row row(long i) {
    SplittableRandom r = new SplittableRandom(mix64(mix64(spec.seed()) + i));
    int k = r.nextInt(spec.keys());
    String key = k < keyNames.length ? keyNames[k] : "k" + k;
    long value = r.nextLong(0, 1000);
    long jitter = spec.disorderMs() > 0 ? r.nextLong(0, spec.disorderMs() + 1) : 0;
    long ts = spec.startMs() + i * spec.stepMs() - jitter;
    String owner = OWNER_NAMES[r.nextInt(OWNERS)];
    return Row.wrap(new Object[] {key, value, ts, owner});
  }

  /**
   * SplitMix64's finalizer. SplittableRandom's own streams for seeds s and s+1 overlap, so the
   * seed is hashed first to make neighbouring rows independent.
   */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
