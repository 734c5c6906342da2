package io.ferry.blocks.plan;

import java.util.Arrays;

/**
 * Open-addressing map from non-negative {@code long} keys to {@code int} values, without boxing. Linear probing with
 * backward-shift deletion, so there are no tombstones and lookups stay short after many removals.
 */
final class LongIntHashMap {
  private static final long EMPTY = -1L;
  /** Returned by {@link #get} and {@link #remove} for a key that is absent. */
  static final int MISSING = Integer.MIN_VALUE;

  private long[] keys;
  private int[] values;
  private int mask;
  private int size;

  LongIntHashMap(int expectedSize) {
    int capacity = Integer.highestOneBit(Math.max(8, expectedSize * 2 - 1)) << 1;
    allocate(capacity);
  }

  private void allocate(int capacity) {
    keys = new long[capacity];
    Arrays.fill(keys, EMPTY);
    values = new int[capacity];
    mask = capacity - 1;
  }

  int size() {
    return size;
  }

  boolean containsKey(long key) {
    return indexOf(key) >= 0;
  }

  int get(long key) {
    int i = indexOf(key);
    return i >= 0 ? values[i] : MISSING;
  }

  /** Puts {@code key -> value}; returns the previous value or {@link #MISSING}. */
  int put(long key, int value) {
    if (key < 0) {
      throw new IllegalArgumentException("key must be >= 0, got " + key);
    }
    int i = slot(key);
    while (keys[i] != EMPTY) {
      if (keys[i] == key) {
        int before = values[i];
        values[i] = value;
        return before;
      }
      i = (i + 1) & mask;
    }
    keys[i] = key;
    values[i] = value;
    if (++size * 2 > keys.length) {
      grow();
    }
    return MISSING;
  }

  /** Removes {@code key}; returns its value or {@link #MISSING}. */
  int remove(long key) {
    int i = indexOf(key);
    if (i < 0) {
      return MISSING;
    }
    int value = values[i];
    size--;
    // Backward shift: move later entries of the probe run into the hole when their home slot allows it.
    int hole = i;
    int j = (i + 1) & mask;
    while (keys[j] != EMPTY) {
      int home = slot(keys[j]);
      boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        keys[hole] = keys[j];
        values[hole] = values[j];
        hole = j;
      }
      j = (j + 1) & mask;
    }
    keys[hole] = EMPTY;
    return value;
  }

  private int indexOf(long key) {
    if (key < 0) {
      return -1;
    }
    int i = slot(key);
    while (keys[i] != EMPTY) {
      if (keys[i] == key) {
        return i;
      }
      i = (i + 1) & mask;
    }
    return -1;
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }

  private void grow() {
    long[] oldKeys = keys;
    int[] oldValues = values;
    allocate(oldKeys.length * 2);
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != EMPTY) {
        put(oldKeys[i], oldValues[i]);
      }
    }
  }
}
