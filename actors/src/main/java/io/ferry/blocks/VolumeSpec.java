package io.ferry.blocks;

import com.fasterxml.jackson.annotation.JsonCreator;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.Site;

/**
 * What a user asks for when a volume migrates: the source image (a raw image file or block device
 * path on a member of the source site), the target site, the block size, and optionally a recorded
 * access trace (a file on the source site's member, one block index per line) to prefetch by.
 *
 * @param traceFile path of the access trace at the source site, or "" for none
 * @param writePolicy where the target's writes persist; absent (journals written before issue 14)
 *     means {@link WritePolicy#TARGET_ONLY}, the only behaviour there was
 * @param encryptAtRest keep the volume encrypted in the target's block store under a key that
 *     lives only at the source site (the target holds it in memory, from the backend)
 */
public record VolumeSpec(
    VolumeId volume,
    Site sourceSite,
    String sourcePath,
    Site targetSite,
    int blockSizeBytes,
    String traceFile,
    WritePolicy writePolicy,
    boolean encryptAtRest)
    implements CborSerializable {

  @JsonCreator
  public VolumeSpec {
    if (sourceSite == null || targetSite == null) {
      throw new IllegalArgumentException("volume " + volume + ": the source and the target site must both be named");
    }
    if (sourcePath == null || sourcePath.isBlank()) {
      throw new IllegalArgumentException("volume " + volume + ": the source path is empty");
    }
    if (sourceSite.equals(targetSite)) {
      throw new IllegalArgumentException("volume " + volume + ": source and target are the same site '" + sourceSite + "'");
    }
    checkBlockSize(blockSizeBytes);
    traceFile = traceFile == null ? "" : traceFile;
    writePolicy = writePolicy == null ? WritePolicy.TARGET_ONLY : writePolicy;
  }

  /** A target-only volume, kept in the clear at the target (the defaults). */
  public VolumeSpec(VolumeId volume, Site sourceSite, String sourcePath, Site targetSite, int blockSizeBytes, String traceFile) {
    this(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, WritePolicy.TARGET_ONLY, false);
  }

  /** A volume under the given write policy, kept in the clear at the target. */
  public VolumeSpec(
      VolumeId volume, Site sourceSite, String sourcePath, Site targetSite, int blockSizeBytes, String traceFile, WritePolicy writePolicy) {
    this(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, false);
  }

  /** A target-only volume, encrypted at rest at the target or not. */
  public VolumeSpec(
      VolumeId volume, Site sourceSite, String sourcePath, Site targetSite, int blockSizeBytes, String traceFile, boolean encryptAtRest) {
    this(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, WritePolicy.TARGET_ONLY, encryptAtRest);
  }

  /** Sites by name, as requests and scenario files give them (validated as {@link Site}s). */
  public VolumeSpec(VolumeId volume, String sourceSite, String sourcePath, String targetSite, int blockSizeBytes, String traceFile) {
    this(volume, Site.of(sourceSite), sourcePath, Site.of(targetSite), blockSizeBytes, traceFile);
  }

  /** The same volume under another write policy (the policy changes while the volume runs). */
  public VolumeSpec withWritePolicy(WritePolicy policy) {
    return new VolumeSpec(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, policy, encryptAtRest);
  }

  /** This spec, kept encrypted at rest at the target. */
  public VolumeSpec encryptedAtRest() {
    return new VolumeSpec(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, true);
  }

  public static int checkBlockSize(long bytes) {
    return io.ferry.blocks.plan.Geometry.checkBlockSize(bytes);
  }
}
