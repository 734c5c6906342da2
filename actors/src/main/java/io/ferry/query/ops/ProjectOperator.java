package io.ferry.query.ops;

import io.ferry.persistence.Sha256;
import io.ferry.query.Field;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps, drops and masks fields with the same rules as {@code QueryGraph}'s project schema;
 * stateless. A masked value is {@code "masked-"} and the first 12 hex digits of the SHA-256 of its
 * UTF-8 bytes: equal inputs still group and join together, but the value cannot be read back.
 */
public final class ProjectOperator implements Operator {
  static final String MASK_PREFIX = "masked-";
  private static final int MASK_HEX_DIGITS = 12;
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  /** For each output field, the input position it comes from. */
  private final int[] from;

  private final boolean[] masked;
  /** Scratch only: it holds no state between calls, so process() still changes nothing. */
  private final MessageDigest sha256;

  public ProjectOperator(OperatorSpec.Project spec, Schema input) {
    List<Integer> positions = new ArrayList<>();
    List<Boolean> masks = new ArrayList<>();
    for (int i = 0; i < input.size(); i++) {
      Field f = input.fields().get(i);
      boolean kept =
          (spec.keep().isEmpty() || spec.keep().contains(f.name())) && !spec.drop().contains(f.name());
      if (kept) {
        positions.add(i);
        masks.add(spec.mask().contains(f.name()));
      }
    }
    from = positions.stream().mapToInt(Integer::intValue).toArray();
    masked = new boolean[from.length];
    for (int i = 0; i < masked.length; i++) {
      masked[i] = masks.get(i);
    }
    sha256 = Sha256.create();
  }

  @Override
  public Step process(List<Row> input) {
    List<Row> out = new ArrayList<>(input.size());
    for (Row r : input) {
      Object[] values = new Object[from.length];
      for (int i = 0; i < from.length; i++) {
        Object v = r.get(from[i]);
        values[i] = masked[i] && v != null ? mask((String) v) : v;
      }
      out.add(Row.wrap(values));
    }
    return new Step(out, null);
  }

  /** The masked form of {@code value}; the same for every operator instance and run. */
  String mask(String value) {
    byte[] digest = sha256.digest(value.getBytes(StandardCharsets.UTF_8));
    char[] out = new char[MASK_PREFIX.length() + MASK_HEX_DIGITS];
    MASK_PREFIX.getChars(0, MASK_PREFIX.length(), out, 0);
    for (int i = 0; i < MASK_HEX_DIGITS / 2; i++) {
      int b = digest[i] & 0xff;
      out[MASK_PREFIX.length() + 2 * i] = HEX[b >>> 4];
      out[MASK_PREFIX.length() + 2 * i + 1] = HEX[b & 0xf];
    }
    return new String(out);
  }
}
