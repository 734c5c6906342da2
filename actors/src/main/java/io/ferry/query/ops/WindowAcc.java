package io.ferry.query.ops;

import java.util.List;

/**
 * The running aggregates of one key in one window, as persisted. The key is held as text and
 * turned back into the key field's type by the operator, so no number travels in an untyped field.
 *
 * @param count rows seen (COUNT)
 * @param nonNull per aggregate, how many non-null values it has seen
 * @param longs per aggregate, the running value of a LONG-valued SUM/MIN/MAX (else 0)
 * @param doubles per aggregate, the running value of a DOUBLE-valued SUM/MIN/MAX or AVG's sum (else 0)
 */
public record WindowAcc(
    long windowStart, String key, long count, List<Long> nonNull, List<Long> longs, List<Double> doubles) {
  public WindowAcc {
    nonNull = List.copyOf(nonNull);
    longs = List.copyOf(longs);
    doubles = List.copyOf(doubles);
  }
}
