package io.ferry.persistence.blocks;

/**
 * What the store holds for one (volume, block index): a stored block by hash, or all zeros.
 *
 * @param sha256 the block's SHA-256 (32 bytes) for {@link Kind#DATA}; null for {@link Kind#ZERO}
 * @param localWrite the workload wrote this block at the target; background blocks no longer
 *     replace it
 */
public record BlockEntry(Kind kind, byte[] sha256, boolean localWrite) {

  public enum Kind {
    DATA,
    ZERO
  }
}
