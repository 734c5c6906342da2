package io.ferry.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Bearer tokens of the management endpoint. A member's configuration holds only each token's
 * SHA-256 (a leaked config file grants nothing); a token is 32 random bytes, so an unsalted fast
 * hash is as strong as the token itself (salts and slow hashes are for guessable passwords).
 * {@code ferry token} prints a new token and the line to put in {@code ferry.security.http.tokens}.
 */
public final class Tokens {
  /** Prefix of every token, so a secret scanner or a person recognises one in a log or a paste. */
  public static final String PREFIX = "ferry_";
  private static final int TOKEN_BYTES = 32;
  /** A header longer than this is not a Ferry token: refused without hashing it. */
  private static final int TOKEN_CHARS_MAX = 256;

  /** One configured token: who holds it (the audit log's "who"), its hash, its role. */
  public record Grant(String name, String sha256Hex, Role role) {
    public Grant {
      if (name == null || name.isBlank() || name.length() > 64) {
        throw new IllegalArgumentException("a token's name is 1..64 characters, got '" + name + "'");
      }
      if (sha256Hex == null || !sha256Hex.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("token '" + name + "': sha256 must be 64 lower-case hex digits (ferry token prints it), got '" + sha256Hex + "'");
      }
    }
  }

  private final List<Grant> grants;

  public Tokens(List<Grant> grants) {
    this.grants = List.copyOf(grants);
    long distinct = grants.stream().map(Grant::sha256Hex).distinct().count();
    if (distinct != grants.size()) {
      throw new IllegalArgumentException("ferry.security.http.tokens lists the same token hash twice");
    }
  }

  public List<Grant> grants() {
    return grants;
  }

  /** A fresh random token. */
  public static String generate() {
    byte[] bytes = new byte[TOKEN_BYTES];
    new SecureRandom().nextBytes(bytes);
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  public static String sha256Hex(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** The grant whose hash is the token's; compared in constant time so timing leaks no prefix of a hash. */
  public Optional<Grant> lookup(String token) {
    if (token.isEmpty() || token.length() > TOKEN_CHARS_MAX) {
      return Optional.empty();
    }
    byte[] hash = sha256Hex(token).getBytes(StandardCharsets.US_ASCII);
    Grant found = null;
    for (Grant g : grants) {
      if (MessageDigest.isEqual(hash, g.sha256Hex().getBytes(StandardCharsets.US_ASCII))) {
        found = g;
      }
    }
    return Optional.ofNullable(found);
  }
}
