package io.ferry.query.ops;

import io.ferry.query.FieldType;
import io.ferry.query.KeyGroups;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The keyed tumbling window on event time (see {@link OperatorSpec.Window}). Lateness is judged
 * row by row against the watermark as it stands after all earlier rows, so which rows count as
 * late does not depend on how the input was cut into batches; windows close and emit at the end of
 * each batch. Rows with a null key or event time are dropped and counted in {@link #nullDropped()},
 * apart from late rows. COUNT counts rows; the other aggregates skip null values and are null when
 * a key saw none, as in SQL.
 */
public final class WindowOperator implements Operator {
  /** Open windows times keys held in memory at most, unless the caller sets another limit. */
  public static final long OPEN_ACCUMULATORS_MAX_DEFAULT = 1_000_000;


  private final Shape shape;
  private final int keyIndex;
  private final int timeIndex;
  private final FieldType keyType;
  private final Aggregation agg;
  private final long openAccumulatorsMax;
  /** The key groups this instance of a keyed window owns, or null when it owns every key. */
  private final KeyGroups.Range owned;

  /** Open windows by start; each maps a key to its accumulator. */
  private final TreeMap<Long, HashMap<Object, Aggregation.Acc>> open = new TreeMap<>();

  private long openAccumulators;
  private long maxEventTime = Long.MIN_VALUE;
  private long lateDropped;
  private long nullDropped;

  /**
   * What makes one window kind differ from another: tumbling windows slide by their size, hopping
   * windows by less, so a row counts in {@code sizeMs / slideMs} windows.
   */
  record Shape(String what, String keyField, String timeField, long sizeMs, long slideMs, long allowedLatenessMs, List<Aggregate> aggregates) {}

  public WindowOperator(OperatorSpec.Window spec, Schema input) {
    this(spec, input, OPEN_ACCUMULATORS_MAX_DEFAULT);
  }

  public WindowOperator(OperatorSpec.Window spec, Schema input, long openAccumulatorsMax) {
    this(new Shape("window", spec.keyField(), spec.timeField(), spec.sizeMs(), spec.sizeMs(), spec.allowedLatenessMs(), spec.aggregates()), input, openAccumulatorsMax);
  }

  public WindowOperator(OperatorSpec.HopWindow spec, Schema input) {
    this(new Shape("hop-window", spec.keyField(), spec.timeField(), spec.sizeMs(), spec.slideMs(), spec.allowedLatenessMs(), spec.aggregates()), input, OPEN_ACCUMULATORS_MAX_DEFAULT);
  }

  /**
   * One instance of a keyed window: it reads every row, so its watermark (and which rows are late)
   * is the whole node's, but it keeps and emits only the keys of its key groups.
   */
  public WindowOperator(OperatorSpec.Keyed spec, Schema input) {
    this(shapeOf(spec.of()), input, OPEN_ACCUMULATORS_MAX_DEFAULT, spec.range());
  }

  private static Shape shapeOf(OperatorSpec of) {
    if (of instanceof OperatorSpec.Window w) {
      return new Shape("window", w.keyField(), w.timeField(), w.sizeMs(), w.sizeMs(), w.allowedLatenessMs(), w.aggregates());
    }
    OperatorSpec.HopWindow h = (OperatorSpec.HopWindow) of;
    return new Shape("hop-window", h.keyField(), h.timeField(), h.sizeMs(), h.slideMs(), h.allowedLatenessMs(), h.aggregates());
  }

  WindowOperator(Shape spec, Schema input, long openAccumulatorsMax) {
    this(spec, input, openAccumulatorsMax, null);
  }

  WindowOperator(Shape spec, Schema input, long openAccumulatorsMax, KeyGroups.Range owned) {
    this.owned = owned;
    if (openAccumulatorsMax < 1) {
      throw new IllegalArgumentException("window: openAccumulatorsMax must be positive, got " + openAccumulatorsMax);
    }
    this.shape = spec;
    this.openAccumulatorsMax = openAccumulatorsMax;
    this.keyIndex = input.indexOf(spec.keyField());
    this.timeIndex = input.indexOf(spec.timeField());
    if (keyIndex < 0 || timeIndex < 0) {
      throw new IllegalArgumentException(
          "window: key '" + spec.keyField() + "' or time '" + spec.timeField() + "' is not in " + input);
    }
    this.keyType = input.fields().get(keyIndex).type();
    this.agg = new Aggregation(spec.what(), spec.aggregates(), input);
  }

  @Override
  public Step process(List<Row> input) {
    return process(input, null);
  }

  /**
   * One batch of a keyed instance's input slice ({@link io.ferry.query.KeySlice}): {@code
   * maxTimeLeftOut[i]} is the largest event time the upstream left out before row {@code i} (the
   * last entry: after the last row), so the watermark moves as if every row had come; null when the
   * batch holds every row.
   */
  public Step process(List<Row> input, long[] maxTimeLeftOut) {
    if (maxTimeLeftOut != null && maxTimeLeftOut.length != input.size() + 1) {
      throw new IllegalArgumentException(shape.what() + ": " + input.size() + " rows need " + (input.size() + 1)
          + " left-out event times, got " + maxTimeLeftOut.length);
    }
    long max = maxEventTime;
    long late = lateDropped;
    long nulls = nullDropped;
    long watermark = watermark(max);
    // Copy-on-write: touched accumulators are copied here, so the operator's own state stays as is.
    HashMap<Long, Scratch> touched = new HashMap<>();
    long created = 0;
    Scratch last = null;
    long lastStart = 0;
    for (int i = 0; i < input.size(); i++) {
      if (maxTimeLeftOut != null && maxTimeLeftOut[i] > max) {
        max = maxTimeLeftOut[i];
        watermark = watermark(max);
      }
      Row r = input.get(i);
      Object key = r.get(keyIndex);
      Object time = r.get(timeIndex);
      if (key == null || time == null) {
        if (owns(key)) {
          nulls++;
        }
        continue;
      }
      long ts = (Long) time;
      if (ts > max) {
        max = ts;
        watermark = watermark(max);
      }
      if (!owns(key)) {
        continue; // another instance's key: it moved the watermark, and that is all
      }
      // The windows holding ts, oldest first; one for a tumbling window. A row goes into those
      // still open; a row whose windows have all closed is late.
      boolean accepted = false;
      for (long start = firstWindowStart(ts); start <= ts; start += shape.slideMs()) {
        if (windowEnd(start) <= watermark) {
          continue;
        }
        accepted = true;
        Scratch s;
        if (last != null && start == lastStart) {
          s = last;
        } else {
          s = touched.get(start);
          if (s == null) {
            s = new Scratch(open.get(start));
            touched.put(start, s);
          }
          last = s;
          lastStart = start;
        }
        Aggregation.Acc a = s.accs.get(key);
        if (a == null) {
          Aggregation.Acc base = s.base == null ? null : s.base.get(key);
          if (base == null) {
            created++;
            if (openAccumulators + created > openAccumulatorsMax) {
              throw new IllegalStateException(
                  shape.what() + ": more than " + openAccumulatorsMax + " open window-key accumulators (open windows "
                      + (open.size() + touched.size()) + "): too many keys or too much allowed lateness"
                      + " for the memory limit");
            }
            a = agg.newAcc();
          } else {
            a = base.copy();
          }
          s.accs.put(key, a);
        }
        agg.add(a, r, start);
        if (start > Long.MAX_VALUE - shape.slideMs()) {
          break;
        }
      }
      if (!accepted) {
        late++;
      }
    }
    if (maxTimeLeftOut != null && maxTimeLeftOut[input.size()] > max) {
      max = maxTimeLeftOut[input.size()];
      watermark = watermark(max);
    }

    TreeSet<Long> closing = new TreeSet<>();
    for (Long start : open.keySet()) {
      if (windowEnd(start) > watermark) {
        break; // ends grow with starts
      }
      closing.add(start);
    }
    for (Long start : touched.keySet()) {
      if (windowEnd(start) <= watermark) {
        closing.add(start);
      }
    }
    List<Row> out = new ArrayList<>();
    for (Long start : closing) {
      Map<Object, Aggregation.Acc> merged = new HashMap<>();
      HashMap<Object, Aggregation.Acc> base = open.get(start);
      if (base != null) {
        merged.putAll(base);
      }
      Scratch s = touched.get(start);
      if (s != null) {
        merged.putAll(s.accs);
      }
      emit(start, merged, out);
    }
    List<WindowAcc> updated = new ArrayList<>();
    // HashMap iteration is deterministic here: keys are String, Long or Boolean (fixed hash codes)
    // and the maps are filled in input order, so the same input gives the same delta.
    for (Map.Entry<Long, Scratch> e : touched.entrySet()) {
      if (!closing.contains(e.getKey())) {
        for (Map.Entry<Object, Aggregation.Acc> k : e.getValue().accs.entrySet()) {
          updated.add(k.getValue().toRecord(e.getKey(), WindowKeys.text(k.getKey())));
        }
      }
    }
    if (updated.isEmpty() && closing.isEmpty() && max == maxEventTime && late == lateDropped && nulls == nullDropped) {
      return new Step(out, null);
    }
    return new Step(out, new WindowDelta(max, late, nulls, updated, new ArrayList<>(closing)));
  }

  /** Closes every open window, as if the watermark had reached +infinity. */
  @Override
  public Step finish() {
    if (open.isEmpty()) {
      return Step.EMPTY;
    }
    List<Row> out = new ArrayList<>();
    for (Map.Entry<Long, HashMap<Object, Aggregation.Acc>> e : open.entrySet()) {
      emit(e.getKey(), e.getValue(), out);
    }
    return new Step(
        out, new WindowDelta(maxEventTime, lateDropped, nullDropped, List.of(), new ArrayList<>(open.keySet())));
  }

  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof WindowDelta d)) {
      throw new IllegalArgumentException("window: cannot apply " + delta.getClass().getSimpleName());
    }
    maxEventTime = d.maxEventTime();
    lateDropped = d.lateDropped();
    nullDropped = d.nullDropped();
    for (WindowAcc a : d.updated()) {
      put(a);
    }
    for (Long start : d.closedWindowStarts()) {
      HashMap<Object, Aggregation.Acc> w = open.remove(start);
      if (w != null) {
        openAccumulators -= w.size();
      }
    }
  }

  @Override
  public WindowState snapshot() {
    List<WindowAcc> accs = new ArrayList<>();
    for (Map.Entry<Long, HashMap<Object, Aggregation.Acc>> e : open.entrySet()) {
      for (Object key : WindowKeys.sorted(e.getValue().keySet())) {
        accs.add(e.getValue().get(key).toRecord(e.getKey(), WindowKeys.text(key)));
      }
    }
    return new WindowState(maxEventTime, lateDropped, nullDropped, accs);
  }

  @Override
  public void restore(OperatorState state) {
    open.clear();
    openAccumulators = 0;
    maxEventTime = Long.MIN_VALUE;
    lateDropped = 0;
    nullDropped = 0;
    if (state == null) {
      return;
    }
    if (!(state instanceof WindowState s)) {
      throw new IllegalArgumentException("window: cannot restore " + state.getClass().getSimpleName());
    }
    maxEventTime = s.maxEventTime();
    lateDropped = s.lateDropped();
    nullDropped = s.nullDropped();
    // Each window's map sized for its accumulators up front (they come in window order): a moved
    // node with 150,000 keys in one window rehashed its map seventeen times while it recovered.
    List<WindowAcc> accs = s.open();
    for (int i = 0; i < accs.size(); ) {
      long start = accs.get(i).windowStart();
      int end = i + 1;
      while (end < accs.size() && accs.get(end).windowStart() == start) {
        end++;
      }
      int keys = end - i;
      open.computeIfAbsent(start, k -> new HashMap<>((int) (keys / 0.75f) + 1));
      for (; i < end; i++) {
        put(accs.get(i));
      }
    }
  }

  private boolean owns(Object key) {
    return owned == null || owned.contains(KeyGroups.groupOf(key));
  }

  /** Rows dropped because their window had already closed. */
  public long lateDropped() {
    return lateDropped;
  }

  /** Rows dropped because their key or event time was null. */
  public long nullDropped() {
    return nullDropped;
  }

  /** Window-key accumulators held in memory now. */
  public long openAccumulators() {
    return openAccumulators;
  }

  @Override
  public long stateEntries() {
    return openAccumulators;
  }

  private void put(WindowAcc a) {
    if (a.nonNull().size() != agg.size() || a.longs().size() != agg.size() || a.doubles().size() != agg.size()) {
      throw new IllegalStateException(
          "window: an accumulator has " + a.nonNull().size() + " aggregates but the window has " + agg.size()
              + ": the state belongs to another query");
    }
    HashMap<Object, Aggregation.Acc> w = open.computeIfAbsent(a.windowStart(), s -> new HashMap<>());
    if (w.put(WindowKeys.parse(keyType, a.key()), Aggregation.Acc.of(a)) == null) {
      openAccumulators++;
    }
  }

  private void emit(long start, Map<Object, Aggregation.Acc> accs, List<Row> out) {
    long end = windowEnd(start);
    for (Object key : WindowKeys.sorted(accs.keySet())) {
      Aggregation.Acc a = accs.get(key);
      Object[] values = new Object[3 + agg.size()];
      values[0] = key;
      values[1] = start;
      values[2] = end;
      for (int i = 0; i < agg.size(); i++) {
        values[3 + i] = agg.result(a, i);
      }
      out.add(Row.wrap(values));
    }
  }

  /** The start of the oldest window that holds {@code ts}: the newest start, less whole slides while the window still reaches ts. */
  private long firstWindowStart(long ts) {
    long start = Math.subtractExact(ts, Math.floorMod(ts, shape.slideMs()));
    while (start - shape.slideMs() > ts - shape.sizeMs()) {
      start -= shape.slideMs();
    }
    return start;
  }

  private long windowEnd(long start) {
    return WindowKeys.windowEnd(start, shape.sizeMs());
  }

  private long watermark(long max) {
    return WindowKeys.watermark(max, shape.allowedLatenessMs());
  }




  /** The accumulators of one window touched by the batch under way, over the window's state. */
  private static final class Scratch {
    final HashMap<Object, Aggregation.Acc> base;
    final HashMap<Object, Aggregation.Acc> accs = new HashMap<>();

    Scratch(HashMap<Object, Aggregation.Acc> base) {
      this.base = base;
    }
  }

}
