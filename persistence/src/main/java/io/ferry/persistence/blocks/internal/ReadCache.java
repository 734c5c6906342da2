package io.ferry.persistence.blocks.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A bounded LRU of decompressed blocks by block id, shared by the NBD read threads. Blocks are
 * content-addressed and never change, so entries need no invalidation.
 */
public final class ReadCache {

  private final int blocksMax;
  private final LinkedHashMap<Integer, byte[]> blocks;

  public ReadCache(int blocksMax) {
    this.blocksMax = blocksMax;
    this.blocks =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> eldest) {
            return size() > ReadCache.this.blocksMax;
          }
        };
  }

  /** Copies the cached block into dst and returns its length, or -1 when it is not cached. */
  public synchronized int copyInto(int blockId, byte[] dst) {
    byte[] block = blocks.get(blockId);
    if (block == null) {
      return -1;
    }
    System.arraycopy(block, 0, dst, 0, block.length);
    return block.length;
  }

  public synchronized void put(int blockId, byte[] src, int length) {
    if (blocksMax > 0) {
      byte[] copy = new byte[length];
      System.arraycopy(src, 0, copy, 0, length);
      blocks.put(blockId, copy);
    }
  }
}
