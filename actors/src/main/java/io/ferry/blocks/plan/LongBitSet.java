package io.ferry.blocks.plan;

/**
 * A fixed-size bit set indexed by {@code long}, for volumes with more blocks than {@link java.util.BitSet} can index
 * ({@link Geometry#BLOCK_COUNT_MAX} is 2^36, a {@code BitSet} stops at 2^31); Agrona has no long-indexed bit set.
 */
final class LongBitSet {
  private final long[] words;
  private final long size;

  LongBitSet(long size) {
    if (size < 0 || size > Geometry.BLOCK_COUNT_MAX) {
      throw new IllegalArgumentException("bit set size must be between 0 and " + Geometry.BLOCK_COUNT_MAX + ", got " + size);
    }
    this.size = size;
    this.words = new long[(int) ((size + 63) >>> 6)];
  }

  long size() {
    return size;
  }

  boolean get(long i) {
    return (words[(int) (i >>> 6)] & (1L << i)) != 0;
  }

  /** Sets bit {@code i}; returns whether it was clear before. */
  boolean set(long i) {
    int w = (int) (i >>> 6);
    long before = words[w];
    words[w] = before | (1L << i);
    return (before & (1L << i)) == 0;
  }

  /** The first clear bit at or after {@code from}, or {@code size()} when there is none. */
  long nextClear(long from) {
    if (from >= size) {
      return size;
    }
    int w = (int) (from >>> 6);
    long word = ~words[w] & (-1L << from);
    while (true) {
      if (word != 0) {
        long i = ((long) w << 6) + Long.numberOfTrailingZeros(word);
        return Math.min(i, size);
      }
      if (++w == words.length) {
        return size;
      }
      word = ~words[w];
    }
  }
}
