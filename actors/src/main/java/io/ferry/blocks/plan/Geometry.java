package io.ferry.blocks.plan;

/** Block size and volume geometry checks, called when settings are read and when a volume's migration starts. */
public final class Geometry {
  public static final int BLOCK_SIZE_MIN_BYTES = 4 * 1024;
  public static final int BLOCK_SIZE_MAX_BYTES = 4 * 1024 * 1024;
  /**
   * Most blocks a volume may have: 256 TiB at 4 KiB blocks. Bounds the per-volume bit sets (8 GiB at the limit) and
   * leaves room to pack a block index and a trace position into one {@code long}.
   */
  public static final long BLOCK_COUNT_MAX = 1L << 36;

  private Geometry() {}

  /** Returns {@code bytes} as an {@code int} when it is a valid block size, else throws with the setting's name. */
  public static int checkBlockSize(long bytes) {
    if (bytes < BLOCK_SIZE_MIN_BYTES || bytes > BLOCK_SIZE_MAX_BYTES || Long.bitCount(bytes) != 1) {
      throw new IllegalArgumentException(
          "ferry.blocks.block-size must be a power of two between 4 KiB and 4 MiB, got " + bytes);
    }
    return (int) bytes;
  }

  /** Blocks needed to hold {@code volumeBytes}; the last block may be partial. */
  public static long blockCount(long volumeBytes, int blockSize) {
    checkBlockSize(blockSize);
    if (volumeBytes < 0) {
      throw new IllegalArgumentException("volume size must be >= 0 bytes, got " + volumeBytes);
    }
    long count = volumeBytes / blockSize + (volumeBytes % blockSize == 0 ? 0 : 1);
    if (count > BLOCK_COUNT_MAX) {
      throw new IllegalArgumentException(
          "volume of " + volumeBytes + " bytes has " + count + " blocks of " + blockSize
              + " bytes, more than the " + BLOCK_COUNT_MAX + " a volume may have; use a larger block size");
    }
    return count;
  }
}
