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
 * @param frontends how many frontends serve the volume at the target site: 1, or 2 (clustered:
 *     a write is acknowledged once both hold it, and the export survives either's member; absent
 *     in journals written before clustered frontends = 1)
 * @param preCopy pre-copy (warm) mode: the workload keeps running at the source through Ferry's NBD
 *     export at the source member until the cut-over, its writes tracked and copied in passes; the
 *     target exports the volume only after the cut-over (absent in older journals = off)
 */
public record VolumeSpec(
    VolumeId volume,
    Site sourceSite,
    String sourcePath,
    Site targetSite,
    int blockSizeBytes,
    String traceFile,
    WritePolicy writePolicy,
    boolean encryptAtRest,
    int frontends,
    boolean preCopy)
    implements CborSerializable {

  /** The most frontends a volume may have: the primary and its mirror. */
  public static final int FRONTENDS_MAX = 2;

  /** The largest block a clustered volume may have. */
  public static final int MIRRORED_BLOCK_MAX_BYTES = 128 * 1024;

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
    frontends = frontends == 0 ? 1 : frontends;
    if (frontends < 1 || frontends > FRONTENDS_MAX) {
      throw new IllegalArgumentException("volume " + volume + ": frontends must be 1 or " + FRONTENDS_MAX + ", got " + frontends);
    }
    if (frontends > 1 && encryptAtRest) {
      // The mirror would need the at-rest key, which only the primary receives from the source.
      throw new IllegalArgumentException("volume " + volume + ": a volume kept encrypted at rest has one frontend (clustered frontends keep it in the clear)");
    }
    if (frontends > 1 && blockSizeBytes > MIRRORED_BLOCK_MAX_BYTES) {
      // A block crosses to the mirror as one cluster message, which must fit Artery's frame (256 KiB).
      throw new IllegalArgumentException("volume " + volume + ": clustered frontends take blocks of at most " + (MIRRORED_BLOCK_MAX_BYTES >> 10) + " KiB, got " + blockSizeBytes);
    }
    if (preCopy && frontends > 1) {
      // The passes write into the primary's store only; filling a mirror from them is not built.
      throw new IllegalArgumentException("volume " + volume + ": a pre-copy volume has one frontend (clustered frontends serve a volume that runs at the target)");
    }
  }

  /** A volume served by {@code frontends} frontends, pre-copy off (the defaults before pre-copy was hosted). */
  public VolumeSpec(
      VolumeId volume,
      Site sourceSite,
      String sourcePath,
      Site targetSite,
      int blockSizeBytes,
      String traceFile,
      WritePolicy writePolicy,
      boolean encryptAtRest,
      int frontends) {
    this(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, encryptAtRest, frontends, false);
  }

  /** A volume with one frontend (the defaults before clustered frontends). */
  public VolumeSpec(
      VolumeId volume, Site sourceSite, String sourcePath, Site targetSite, int blockSizeBytes, String traceFile, WritePolicy writePolicy, boolean encryptAtRest) {
    this(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, encryptAtRest, 1);
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
    return new VolumeSpec(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, policy, encryptAtRest, frontends, preCopy);
  }

  /** This spec, kept encrypted at rest at the target. */
  public VolumeSpec encryptedAtRest() {
    return new VolumeSpec(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, true, frontends, preCopy);
  }

  /** This spec served by {@code n} frontends at the target site (2: clustered). */
  public VolumeSpec withFrontends(int n) {
    return new VolumeSpec(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, encryptAtRest, n, preCopy);
  }

  /** This spec in pre-copy mode: the workload runs at the source until the cut-over. */
  public VolumeSpec withPreCopy() {
    return new VolumeSpec(volume, sourceSite, sourcePath, targetSite, blockSizeBytes, traceFile, writePolicy, encryptAtRest, frontends, true);
  }

  public boolean clustered() {
    return frontends > 1;
  }

  public static int checkBlockSize(long bytes) {
    return io.ferry.blocks.plan.Geometry.checkBlockSize(bytes);
  }
}
