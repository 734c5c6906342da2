package io.ferry.persistence.blocks.internal;

import java.util.Arrays;

/**
 * SHA-256 → stored block location, compact enough for millions of blocks (about 60 bytes per
 * block): hashes and locations live in parallel primitive arrays indexed by a dense block id, and
 * an open-addressing table maps a hash to its id. {@link #remove} (store reclaim) takes a block out
 * of the table but never reuses its id, so a reader that located a block before it was reclaimed
 * still finds its hash by id. Ids are dense again after the store reopens. Not thread-safe; {@code
 * BlockStore} guards it.
 */
public final class HashIndex {

  private static final int SEGMENT_SHIFT = 40;
  private static final long OFFSET_MASK = (1L << SEGMENT_SHIFT) - 1;

  private long[] hashes = new long[4 * 1024];
  private long[] locations = new long[1024];
  private int[] storedLengths = new int[1024];
  private int[] rawLengths = new int[1024];
  private int size;
  private int removed;
  /** Location of a removed block. */
  private static final long REMOVED = -1L;
  /** Block id + 1 per slot, 0 for an empty slot; length is a power of two, at most half full. */
  private int[] table = new int[2048];

  /** Blocks findable by hash (added and not removed). */
  public int size() {
    return size - removed;
  }

  /** Ids run from 0 below this; some may be removed. */
  public int idLimit() {
    return size;
  }

  public boolean isRemoved(int id) {
    return locations[id] == REMOVED;
  }

  /**
   * Takes the block out of the table ({@link #find} no longer sees it); its hash stays readable by
   * id. Rebuilds the table: call once per batch of removals via {@link #removeAll}.
   */
  public void removeAll(java.util.BitSet ids) {
    for (int id = ids.nextSetBit(0); id >= 0; id = ids.nextSetBit(id + 1)) {
      if (id >= size || locations[id] == REMOVED) {
        throw new IllegalArgumentException("block id " + id + " is not stored");
      }
      locations[id] = REMOVED;
      removed++;
    }
    rehash(table.length);
  }

  /** Moves a block's record (segment compaction); the id and hash stay. */
  public void relocate(int id, int segment, long offset) {
    if (locations[id] == REMOVED) {
      throw new IllegalArgumentException("block id " + id + " was removed");
    }
    locations[id] = ((long) segment << SEGMENT_SHIFT) | offset;
  }

  /** The id of the block with this hash, or -1. */
  public int find(byte[] sha256) {
    long h0 = word(sha256, 0), h1 = word(sha256, 8), h2 = word(sha256, 16), h3 = word(sha256, 24);
    int mask = table.length - 1;
    for (int slot = (int) (h0 ^ (h0 >>> 32)) & mask; ; slot = (slot + 1) & mask) {
      int entry = table[slot];
      if (entry == 0) {
        return -1;
      }
      int id = entry - 1;
      int base = id * 4;
      if (hashes[base] == h0 && hashes[base + 1] == h1 && hashes[base + 2] == h2
          && hashes[base + 3] == h3) {
        return id;
      }
    }
  }

  /** Adds a block that {@link #find} does not know; returns its id. */
  public int add(byte[] sha256, int segment, long offset, int storedLength, int rawLength) {
    if (find(sha256) >= 0) {
      throw new IllegalStateException("hash added twice: " + hex(sha256));
    }
    if (size == Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("hash index is full at " + size + " blocks");
    }
    if (size == locations.length) {
      int capacity = locations.length * 2;
      hashes = Arrays.copyOf(hashes, capacity * 4);
      locations = Arrays.copyOf(locations, capacity);
      storedLengths = Arrays.copyOf(storedLengths, capacity);
      rawLengths = Arrays.copyOf(rawLengths, capacity);
    }
    int id = size++;
    for (int i = 0; i < 4; i++) {
      hashes[id * 4 + i] = word(sha256, i * 8);
    }
    locations[id] = ((long) segment << SEGMENT_SHIFT) | offset;
    storedLengths[id] = storedLength;
    rawLengths[id] = rawLength;
    if ((size - removed) * 2 > table.length) {
      rehash(table.length * 2);
    } else {
      insert(id);
    }
    return id;
  }

  public int segment(int id) {
    return (int) (locations[id] >>> SEGMENT_SHIFT);
  }

  public long offset(int id) {
    return locations[id] & OFFSET_MASK;
  }

  public int storedLength(int id) {
    return storedLengths[id];
  }

  public int rawLength(int id) {
    return rawLengths[id];
  }

  public void hashInto(int id, byte[] dst) {
    for (int i = 0; i < 4; i++) {
      long w = hashes[id * 4 + i];
      for (int b = 0; b < 8; b++) {
        dst[i * 8 + b] = (byte) (w >>> (56 - 8 * b));
      }
    }
  }

  public byte[] hash(int id) {
    byte[] dst = new byte[RecordFormat.SHA256_BYTES];
    hashInto(id, dst);
    return dst;
  }

  private void rehash(int capacity) {
    table = new int[capacity];
    for (int id = 0; id < size; id++) {
      if (locations[id] != REMOVED) {
        insert(id);
      }
    }
  }

  private void insert(int id) {
    long h0 = hashes[id * 4];
    int mask = table.length - 1;
    int slot = (int) (h0 ^ (h0 >>> 32)) & mask;
    while (table[slot] != 0) {
      slot = (slot + 1) & mask;
    }
    table[slot] = id + 1;
  }

  private static long word(byte[] b, int off) {
    long w = 0;
    for (int i = 0; i < 8; i++) {
      w = (w << 8) | (b[off + i] & 0xFF);
    }
    return w;
  }

  public static String hex(byte[] sha256) {
    StringBuilder sb = new StringBuilder(64);
    for (byte b : sha256) {
      sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
    }
    return sb.toString();
  }
}
