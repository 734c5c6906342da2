package io.ferry.blocks;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** What the backend and the frontend both ask of a block's bytes: are they all zero, and a SHA-256. */
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

  /** A fresh SHA-256 digest (not thread-safe: one per thread). */
  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
