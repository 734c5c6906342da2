package io.ferry.blocks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a volume marked encrypted at rest is kept in the target's block store: each block is
 * tagged with HMAC-SHA256 of its bytes and encrypted with AES-CTR using the tag as its IV (a
 * synthetic IV, as in SIV), so the stored block has the block's length (the store's layout does
 * not change), the tag stands in for the block's hash in the store's index (it reveals nothing
 * without the key) and authenticates the block when it is read back. Equal blocks of one volume
 * encrypt alike, which the store's dedup needs. The key (32 bytes) lives at the source site and
 * reaches the target only in memory ({@link FrontendVolume#restKey}).
 */
final class AtRestCipher {
  static final int KEY_LENGTH = 32;
  private static final int IV_LENGTH = 16;

  private final SecretKeySpec encKey;
  private final SecretKeySpec macKey;
  // Reads run on the I/O pool and frames on the receiver thread: one Mac and Cipher per thread.
  private final ThreadLocal<Mac> mac;
  private final ThreadLocal<Cipher> cipher;

  AtRestCipher(byte[] key) {
    if (key == null || key.length != KEY_LENGTH) {
      throw new IllegalArgumentException("an at-rest key is " + KEY_LENGTH + " bytes, got " + (key == null ? "none" : key.length));
    }
    this.encKey = new SecretKeySpec(derive(key, "ferry at-rest encryption"), "AES");
    this.macKey = new SecretKeySpec(derive(key, "ferry at-rest tag"), "HmacSHA256");
    this.mac = ThreadLocal.withInitial(() -> newMac(macKey));
    this.cipher = ThreadLocal.withInitial(AtRestCipher::newCipher);
  }

  /** The block's tag: what the store indexes it by, and what authenticates it when read. */
  byte[] tag(byte[] block, int length) {
    Mac m = mac.get();
    m.update(block, 0, length);
    return m.doFinal();
  }

  /** The block encrypted under its tag. */
  byte[] seal(byte[] block, int length, byte[] tag) {
    byte[] out = new byte[length];
    crypt(block, length, tag, out);
    return out;
  }

  /** Decrypts {@code data[0, length)} in place; a block whose bytes do not match its tag is refused, never returned. */
  void open(byte[] data, int length, byte[] tag) throws IOException {
    crypt(data, length, tag, data);
    if (!MessageDigest.isEqual(tag(data, length), tag)) {
      throw new IOException("a block kept encrypted at rest does not authenticate under the volume's key (damaged, or another key)");
    }
  }

  private void crypt(byte[] in, int length, byte[] tag, byte[] out) {
    try {
      Cipher c = cipher.get();
      c.init(Cipher.ENCRYPT_MODE, encKey, new IvParameterSpec(tag, 0, IV_LENGTH));
      c.doFinal(in, 0, length, out, 0);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-CTR failed for a well-formed key and block", e);
    }
  }

  private static byte[] derive(byte[] key, String purpose) {
    Mac m = newMac(new SecretKeySpec(key, "HmacSHA256"));
    return m.doFinal(purpose.getBytes(StandardCharsets.US_ASCII));
  }

  private static Mac newMac(SecretKeySpec key) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      return m;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java runtime has HmacSHA256", e);
    }
  }

  private static Cipher newCipher() {
    try {
      return Cipher.getInstance("AES/CTR/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java runtime has AES-CTR", e);
    }
  }
}
