package io.ferry.persistence.blocks.internal;

import java.util.BitSet;

/**
 * Block index → entry of one volume, one int per block in pages allocated as blocks arrive. An
 * entry is {@link #ABSENT}, {@link #ZERO}, or a block id + 2; the sign bit marks a local write.
 * Not thread-safe; {@code BlockStore} guards it.
 */
public final class VolumeMap {

  public static final int ABSENT = 0;
  public static final int ZERO = 1;
  private static final int LOCAL = 0x8000_0000;
  private static final int PAGE_BITS = 12;
  private static final int PAGE_MASK = (1 << PAGE_BITS) - 1;

  private final int id;
  private final String name;
  private final long sizeBytes;
  private final int blockSizeBytes;
  private final long blockCount;
  private final int[][] pages;
  private long presentCount;
  private long zeroCount;

  public VolumeMap(int id, String name, long sizeBytes, int blockSizeBytes, long blockCount) {
    this.id = id;
    this.name = name;
    this.sizeBytes = sizeBytes;
    this.blockSizeBytes = blockSizeBytes;
    this.blockCount = blockCount;
    this.pages = new int[(int) ((blockCount + PAGE_MASK) >>> PAGE_BITS)][];
  }

  public static int data(int blockId, boolean localWrite) {
    return (blockId + 2) | (localWrite ? LOCAL : 0);
  }

  public static int zero(boolean localWrite) {
    return ZERO | (localWrite ? LOCAL : 0);
  }

  public static boolean isLocal(int entry) {
    return (entry & LOCAL) != 0;
  }

  public static boolean isZero(int entry) {
    return (entry & ~LOCAL) == ZERO;
  }

  /** The block id of a data entry. */
  public static int blockId(int entry) {
    return (entry & ~LOCAL) - 2;
  }

  public int id() {
    return id;
  }

  public String name() {
    return name;
  }

  public long sizeBytes() {
    return sizeBytes;
  }

  public int blockSizeBytes() {
    return blockSizeBytes;
  }

  public long blockCount() {
    return blockCount;
  }

  public long presentCount() {
    return presentCount;
  }

  public long zeroCount() {
    return zeroCount;
  }

  /** Block bytes at this index: the block size except for a short last block. */
  public int blockLength(long index) {
    return (int) Math.min(blockSizeBytes, sizeBytes - index * blockSizeBytes);
  }

  public int get(long index) {
    int[] page = pages[(int) (index >>> PAGE_BITS)];
    return page == null ? ABSENT : page[(int) index & PAGE_MASK];
  }

  public void set(long index, int entry) {
    int p = (int) (index >>> PAGE_BITS);
    int[] page = pages[p];
    if (page == null) {
      page = pages[p] = new int[1 << PAGE_BITS];
    }
    int slot = (int) index & PAGE_MASK;
    int old = page[slot];
    if (old == ABSENT) {
      presentCount++;
    }
    if (old != ABSENT && isZero(old)) {
      zeroCount--;
    }
    if (isZero(entry)) {
      zeroCount++;
    }
    page[slot] = entry;
  }

  public BitSet present() {
    BitSet bits = new BitSet();
    for (int p = 0; p < pages.length; p++) {
      int[] page = pages[p];
      if (page != null) {
        for (int i = 0; i < page.length; i++) {
          if (page[i] != ABSENT) {
            bits.set((p << PAGE_BITS) + i);
          }
        }
      }
    }
    return bits;
  }

  /** Hands the block id of every data entry (zero and absent entries have none) to consumer. */
  public void forEachDataBlock(java.util.function.IntConsumer consumer) {
    for (int[] page : pages) {
      if (page != null) {
        for (int entry : page) {
          if (entry != ABSENT && !isZero(entry)) {
            consumer.accept(blockId(entry));
          }
        }
      }
    }
  }
}
