package io.ferry.persistence.blocks.internal;

import java.util.Arrays;

/**
 * SHA-256 → stored block location, compact enough for millions of blocks (about 60 bytes per
 * block): hashes and locations live in parallel primitive arrays indexed by a dense block id, and
 * an open-addressing table maps a hash to its id. Entries are never removed (no compaction yet).
 * Not thread-safe; {@code BlockStore} guards it.
 */
public final class HashIndex {

  private static final int SEGMENT_SHIFT = 40;
  private static final long OFFSET_MASK = (1L << SEGMENT_SHIFT) - 1;

  private long[] hashes = new long[4 * 1024];
  private long[] locations = new long[1024];
  private int[] storedLengths = new int[1024];
  private int[] rawLengths = new int[1024];
  private int size;
  /** Block id + 1 per slot, 0 for an empty slot; length is a power of two, at most half full. */
  private int[] table = new int[2048];

  public int size() {
    return size;
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
    if (size * 2 > table.length) {
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
      insert(id);
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
