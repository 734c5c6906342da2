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
    return io.ferry.blocks.plan.Geometry.checkBlockSize(bytes);
  }
}
