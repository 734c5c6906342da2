package io.ferry.query.ops;

import io.ferry.query.FieldType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * What the window operators (tumbling/hopping, session, window join) share: a key as text in their
 * state and back, the order keys are emitted in, and event-time arithmetic that saturates instead
 * of overflowing near the ends of time.
 */
final class WindowKeys {

  private WindowKeys() {}

  /** All keys of one window have the key field's type (String, Long or Boolean): natural order. */
  @SuppressWarnings("unchecked")
  static final Comparator<Object> KEY_ORDER = (a, b) -> ((Comparable<Object>) a).compareTo(b);

  static String text(Object key) {
    return key instanceof String s ? s : key.toString();
  }

  static Object parse(FieldType keyType, String text) {
    if (keyType == FieldType.STRING) {
      return text;
    } else if (keyType == FieldType.BOOLEAN) {
      return Boolean.valueOf(text);
    }
    return Long.valueOf(text);
  }

  static List<Object> sorted(Collection<Object> keys) {
    List<Object> out = new ArrayList<>(keys);
    out.sort(KEY_ORDER);
    return out;
  }

  /** The end of a window of {@code sizeMs} from {@code start}; a window near the end of time still has one. */
  static long windowEnd(long start, long sizeMs) {
    return start > Long.MAX_VALUE - sizeMs ? Long.MAX_VALUE : start + sizeMs;
  }

  /** The watermark behind the newest event time by the allowed lateness, never below the start of time. */
  static long watermark(long maxEventTime, long latenessMs) {
    return maxEventTime < Long.MIN_VALUE + latenessMs ? Long.MIN_VALUE : maxEventTime - latenessMs;
  }
}
