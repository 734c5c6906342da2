package io.ferry.query;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The part of an upstream's output one instance of a keyed node needs: the rows whose key lies in
 * key groups {@code [firstGroup, endGroup)}. An instance names its slice in its pull, and the upstream
 * sends only those rows instead of every row to every instance.
 *
 * <p>The instance still has to see the node's watermark, which every row moves: a row is late or
 * not by the largest event time before it, whatever its key. So {@link #cut} also reports, before
 * each kept row and after the last, the largest event time among the rows left out there. Fed those,
 * the instance decides lateness exactly as when it read every row. Rows with no key or no time
 * move no watermark and go to the instance of their key's group (null keys are group 0).
 *
 * <p>Anchors are untouched: a sliced batch still spans {@code [from, next)} of the upstream's
 * output, with fewer rows, so the instance's input anchor, its moves and a rescale's cut mean what
 * they meant.
 */
public record KeySlice(String keyField, String timeField, int firstGroup, int endGroup) {
  /** "Nothing left out here" in the event times of a {@link Cut}. */
  public static final long NONE = Long.MIN_VALUE;

  public KeySlice {
    if (keyField == null || timeField == null) {
      throw new IllegalArgumentException("a key slice names its key and time fields");
    }
    new KeyGroups.Range(firstGroup, endGroup); // checks the bounds
  }

  /** The slice an instance running {@code op} reads, or null when it reads every row (any other operator). */
  public static KeySlice of(OperatorSpec op) {
    if (!(op instanceof OperatorSpec.Keyed k)) {
      return null;
    }
    String time = k.of() instanceof OperatorSpec.Window w ? w.timeField() : ((OperatorSpec.HopWindow) k.of()).timeField();
    return new KeySlice(k.keyField(), time, k.firstGroup(), k.endGroup());
  }

  /**
   * The rows of the slice and the event times left out. {@code maxTimeLeftOut[i]} is the largest
   * event time of the rows left out just before kept row {@code i}, and the last entry that of the
   * rows after the last kept row; {@link #NONE} where none were left out.
   */
  public record Cut(List<Row> rows, long[] maxTimeLeftOut) {
    public Cut {
      if (maxTimeLeftOut.length != rows.size() + 1) {
        throw new IllegalArgumentException("a cut of " + rows.size() + " rows has " + (rows.size() + 1) + " left-out times, got "
            + maxTimeLeftOut.length);
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Cut c && rows.equals(c.rows) && Arrays.equals(maxTimeLeftOut, c.maxTimeLeftOut);
    }

    @Override
    public int hashCode() {
      return 31 * rows.hashCode() + Arrays.hashCode(maxTimeLeftOut);
    }
  }

  /**
   * Cuts {@code rows}, laid out as {@code schema}, to this slice; empty when the schema lacks the
   * key or time field (the caller then sends every row, and the instance's own operator fails on
   * the schema as it would have).
   */
  public Optional<Cut> cut(List<Row> rows, Schema schema) {
    int keyIndex = schema.indexOf(keyField);
    int timeIndex = schema.indexOf(timeField);
    if (keyIndex < 0 || timeIndex < 0) {
      return Optional.empty();
    }
    KeyGroups.Range range = new KeyGroups.Range(firstGroup, endGroup);
    List<Row> kept = new ArrayList<>();
    long[] leftOut = new long[rows.size() + 1];
    long run = NONE;
    for (Row r : rows) {
      Object key = r.get(keyIndex);
      Object time = r.get(timeIndex);
      if (range.contains(KeyGroups.groupOf(key)) || (time != null && !(time instanceof Long))) {
        // an owned row; or one whose time the instance's operator must reject itself
        leftOut[kept.size()] = run;
        kept.add(r);
        run = NONE;
      } else if (key != null && time != null) {
        run = Math.max(run, (Long) time);
      }
    }
    leftOut[kept.size()] = run;
    return Optional.of(new Cut(kept, Arrays.copyOf(leftOut, kept.size() + 1)));
  }
}
