package io.ferry.blocks;

/** What the backend and the frontend both ask of a block's bytes: are they all zero (their SHA-256 comes from {@link io.ferry.persistence.Sha256}). */
final class BlockBytes {
  private BlockBytes() {}

  static boolean isZero(byte[] block) {
    for (byte x : block) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
