package io.ferry.persistence.blocks;

/**
 * Limits and checks of a {@link BlockStore}.
 *
 * @param segmentBytesMax a data segment is closed and a new one started before it would grow past
 *     this (a single block record larger than this gets a segment of its own)
 * @param verifyHashes recompute SHA-256 of every block put and read (costs CPU; for tests and
 *     debugging)
 * @param readCacheBlocks decompressed blocks kept in memory for reads; 0 turns the cache off. Worst
 *     case memory is this times the largest block size in use.
 */
public record BlockStoreSettings(long segmentBytesMax, boolean verifyHashes, int readCacheBlocks) {

  public static final long SEGMENT_BYTES_MIN = 1L << 20;
  /** Recovery maps a whole segment, so a segment must stay below 2 GiB. */
  public static final long SEGMENT_BYTES_MAX = 1L << 30;

  public BlockStoreSettings {
    if (segmentBytesMax < SEGMENT_BYTES_MIN || segmentBytesMax > SEGMENT_BYTES_MAX) {
      throw new IllegalArgumentException(
          "segmentBytesMax must be between 1 MiB and 1 GiB, got " + segmentBytesMax);
    }
    if (readCacheBlocks < 0) {
      throw new IllegalArgumentException("readCacheBlocks must be >= 0, got " + readCacheBlocks);
    }
  }

  /** 256 MiB segments, no hash re-verification, 128 cached blocks. */
  public static BlockStoreSettings defaults() {
    return new BlockStoreSettings(256L << 20, false, 128);
  }
}
