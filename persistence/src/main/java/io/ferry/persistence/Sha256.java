package io.ferry.persistence;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The one place a SHA-256 digest is made: block hashes (store, backend, frontend), masked values,
 * the simulator's run digest. Here, in the lowest module that hashes, so every other module shares it.
 */
public final class Sha256 {

  private Sha256() {}

  /** A fresh digest; not thread-safe, so one per thread or per owner. */
  public static MessageDigest create() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime must provide SHA-256", e);
    }
  }
}
