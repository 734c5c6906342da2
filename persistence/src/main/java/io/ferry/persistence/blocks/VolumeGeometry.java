package io.ferry.persistence.blocks;

/** Size and block size of a volume in the block store; fixed once registered. */
public record VolumeGeometry(long sizeBytes, int blockSizeBytes) {

  public static final int BLOCK_SIZE_BYTES_MIN = 4 << 10;
  public static final int BLOCK_SIZE_BYTES_MAX = 4 << 20;
  /** Bounds the in-memory map of a volume (4 bytes per block index). */
  public static final long BLOCK_COUNT_MAX = 1L << 36;

  public VolumeGeometry {
    if (blockSizeBytes < BLOCK_SIZE_BYTES_MIN
        || blockSizeBytes > BLOCK_SIZE_BYTES_MAX
        || Integer.bitCount(blockSizeBytes) != 1) {
      throw new IllegalArgumentException(
          "block size must be a power of two between 4 KiB and 4 MiB, got " + blockSizeBytes);
    }
    if (sizeBytes <= 0) {
      throw new IllegalArgumentException("volume size must be positive, got " + sizeBytes);
    }
    if ((sizeBytes + blockSizeBytes - 1) / blockSizeBytes > BLOCK_COUNT_MAX) {
      throw new IllegalArgumentException(
          "volume of " + sizeBytes + " bytes has more than " + BLOCK_COUNT_MAX
              + " blocks of " + blockSizeBytes + " bytes");
    }
  }

  /** Number of blocks; the last one is short when the size is not a multiple of the block size. */
  public long blockCount() {
    return (sizeBytes + blockSizeBytes - 1) / blockSizeBytes;
  }
}
