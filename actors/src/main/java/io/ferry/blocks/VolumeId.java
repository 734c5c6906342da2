package io.ferry.blocks;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** Names a volume under migration; also its NBD export name and part of its actors' names. */
public record VolumeId(String value) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public VolumeId {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "volume id must be 1-63 letters, digits, '_', '.' or '-' starting with a letter or digit, got '" + value + "'");
    }
  }

  /**
   * The 64-bit key block frames carry instead of the name (FNV-1a of the name). Two volumes with the
   * same key on one target member are refused when the second starts.
   */
  public long key() {
    long h = 0xcbf29ce484222325L;
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return h;
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public String toString() {
    return value;
  }
}
