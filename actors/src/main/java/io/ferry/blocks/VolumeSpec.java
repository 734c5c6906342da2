package io.ferry.blocks;

import io.ferry.persistence.CborSerializable;

/**
 * What a user asks for when a volume migrates: the source image (a raw image file or block device
 * path on a member of the source site), the target site, the block size, and optionally a recorded
 * access trace (a file on the source site's member, one block index per line) to prefetch by.
 *
 * @param traceFile path of the access trace at the source site, or "" for none
 */
public record VolumeSpec(
    VolumeId volume, String sourceSite, String sourcePath, String targetSite, int blockSizeBytes, String traceFile)
    implements CborSerializable {

  public static final int BLOCK_SIZE_MIN = 4096;
  public static final int BLOCK_SIZE_MAX = 4 << 20;

  public VolumeSpec {
    if (sourcePath == null || sourcePath.isBlank()) {
      throw new IllegalArgumentException("volume " + volume + ": the source path is empty");
    }
    if (sourceSite.equals(targetSite)) {
      throw new IllegalArgumentException("volume " + volume + ": source and target are the same site '" + sourceSite + "'");
    }
    checkBlockSize(blockSizeBytes);
    traceFile = traceFile == null ? "" : traceFile;
  }

  public static int checkBlockSize(long bytes) {
    if (bytes < BLOCK_SIZE_MIN || bytes > BLOCK_SIZE_MAX || Long.bitCount(bytes) != 1) {
      throw new IllegalArgumentException(
          "ferry.blocks.block-size must be a power of two between 4 KiB and 4 MiB, got " + bytes);
    }
    return (int) bytes;
  }
}
