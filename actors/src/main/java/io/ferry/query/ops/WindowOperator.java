package io.ferry.query.ops;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.Comparator;
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

  private static final int COUNT = 0;
  private static final int SUM_LONG = 1;
  private static final int SUM_DOUBLE = 2;
  private static final int MIN_LONG = 3;
  private static final int MAX_LONG = 4;
  private static final int MIN_DOUBLE = 5;
  private static final int MAX_DOUBLE = 6;
  private static final int AVG = 7;

  private final OperatorSpec.Window spec;
  private final int keyIndex;
  private final int timeIndex;
  private final FieldType keyType;
  private final int[] kinds;
  private final int[] fields;
  private final boolean[] longInput;
  private final long openAccumulatorsMax;

  /** Open windows by start; each maps a key to its accumulator. */
  private final TreeMap<Long, HashMap<Object, Acc>> open = new TreeMap<>();

  private long openAccumulators;
  private long maxEventTime = Long.MIN_VALUE;
  private long lateDropped;
  private long nullDropped;

  public WindowOperator(OperatorSpec.Window spec, Schema input) {
    this(spec, input, OPEN_ACCUMULATORS_MAX_DEFAULT);
  }

  public WindowOperator(OperatorSpec.Window spec, Schema input, long openAccumulatorsMax) {
    if (openAccumulatorsMax < 1) {
      throw new IllegalArgumentException("window: openAccumulatorsMax must be positive, got " + openAccumulatorsMax);
    }
    this.spec = spec;
    this.openAccumulatorsMax = openAccumulatorsMax;
    this.keyIndex = input.indexOf(spec.keyField());
    this.timeIndex = input.indexOf(spec.timeField());
    if (keyIndex < 0 || timeIndex < 0) {
      throw new IllegalArgumentException(
          "window: key '" + spec.keyField() + "' or time '" + spec.timeField() + "' is not in " + input);
    }
    this.keyType = input.fields().get(keyIndex).type();
    int n = spec.aggregates().size();
    this.kinds = new int[n];
    this.fields = new int[n];
    this.longInput = new boolean[n];
    for (int i = 0; i < n; i++) {
      Aggregate a = spec.aggregates().get(i);
      if (a.fn() == OperatorSpec.AggregateFn.COUNT) {
        kinds[i] = COUNT;
        fields[i] = -1;
        continue;
      }
      fields[i] = input.indexOf(a.field());
      if (fields[i] < 0) {
        throw new IllegalArgumentException("window: aggregate field '" + a.field() + "' is not in " + input);
      }
      Field f = input.fields().get(fields[i]);
      if (!f.type().numeric()) {
        throw new IllegalArgumentException("window: " + a.fn() + "(" + f.name() + ") needs a numeric field");
      }
      longInput[i] = f.type() != FieldType.DOUBLE;
      kinds[i] =
          switch (a.fn()) {
            case SUM -> longInput[i] ? SUM_LONG : SUM_DOUBLE;
            case MIN -> longInput[i] ? MIN_LONG : MIN_DOUBLE;
            case MAX -> longInput[i] ? MAX_LONG : MAX_DOUBLE;
            case AVG -> AVG;
            case COUNT -> COUNT;
          };
    }
  }

  @Override
  public Step process(List<Row> input) {
    long max = maxEventTime;
    long late = lateDropped;
    long nulls = nullDropped;
    long watermark = watermark(max);
    // Copy-on-write: touched accumulators are copied here, so the operator's own state stays as is.
    HashMap<Long, Scratch> touched = new HashMap<>();
    long created = 0;
    Scratch last = null;
    long lastStart = 0;
    for (Row r : input) {
      Object key = r.get(keyIndex);
      Object time = r.get(timeIndex);
      if (key == null || time == null) {
        nulls++;
        continue;
      }
      long ts = (Long) time;
      if (ts > max) {
        max = ts;
        watermark = watermark(max);
      }
      long start = windowStart(ts);
      if (windowEnd(start) <= watermark) {
        late++;
        continue;
      }
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
      Acc a = s.accs.get(key);
      if (a == null) {
        Acc base = s.base == null ? null : s.base.get(key);
        if (base == null) {
          created++;
          if (openAccumulators + created > openAccumulatorsMax) {
            throw new IllegalStateException(
                "window: more than " + openAccumulatorsMax + " open window-key accumulators (open windows "
                    + (open.size() + touched.size()) + "): too many keys or too much allowed lateness"
                    + " for the memory limit");
          }
          a = new Acc(kinds.length);
        } else {
          a = base.copy();
        }
        s.accs.put(key, a);
      }
      add(a, r, start);
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
      Map<Object, Acc> merged = new HashMap<>();
      HashMap<Object, Acc> base = open.get(start);
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
        for (Map.Entry<Object, Acc> k : e.getValue().accs.entrySet()) {
          updated.add(k.getValue().toRecord(e.getKey(), keyText(k.getKey())));
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
    for (Map.Entry<Long, HashMap<Object, Acc>> e : open.entrySet()) {
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
      HashMap<Object, Acc> w = open.remove(start);
      if (w != null) {
        openAccumulators -= w.size();
      }
    }
  }

  @Override
  public WindowState snapshot() {
    List<WindowAcc> accs = new ArrayList<>();
    for (Map.Entry<Long, HashMap<Object, Acc>> e : open.entrySet()) {
      for (Object key : sortedKeys(e.getValue())) {
        accs.add(e.getValue().get(key).toRecord(e.getKey(), keyText(key)));
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
    s.open().forEach(this::put);
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

  private void put(WindowAcc a) {
    if (a.nonNull().size() != kinds.length || a.longs().size() != kinds.length || a.doubles().size() != kinds.length) {
      throw new IllegalStateException(
          "window: an accumulator has " + a.nonNull().size() + " aggregates but the window has " + kinds.length
              + ": the state belongs to another query");
    }
    HashMap<Object, Acc> w = open.computeIfAbsent(a.windowStart(), s -> new HashMap<>());
    if (w.put(parseKey(a.key()), Acc.of(a)) == null) {
      openAccumulators++;
    }
  }

  private void add(Acc a, Row r, long start) {
    a.count++;
    for (int i = 0; i < kinds.length; i++) {
      int kind = kinds[i];
      if (kind == COUNT) {
        continue;
      }
      Object v = r.get(fields[i]);
      if (v == null) {
        continue;
      }
      boolean first = a.nonNull[i]++ == 0;
      switch (kind) {
        case SUM_LONG:
          {
            long x = (Long) v;
            long sum = a.longs[i] + x;
            if (((a.longs[i] ^ sum) & (x ^ sum)) < 0) {
              throw new IllegalStateException(
                  "window: SUM(" + spec.aggregates().get(i).field() + ") overflows LONG in the window starting at "
                      + start);
            }
            a.longs[i] = sum;
            break;
          }
        case SUM_DOUBLE:
          a.doubles[i] += (Double) v;
          break;
        case MIN_LONG:
          {
            long x = (Long) v;
            if (first || x < a.longs[i]) {
              a.longs[i] = x;
            }
            break;
          }
        case MAX_LONG:
          {
            long x = (Long) v;
            if (first || x > a.longs[i]) {
              a.longs[i] = x;
            }
            break;
          }
        case MIN_DOUBLE:
          a.doubles[i] = first ? (Double) v : Math.min(a.doubles[i], (Double) v);
          break;
        case MAX_DOUBLE:
          a.doubles[i] = first ? (Double) v : Math.max(a.doubles[i], (Double) v);
          break;
        case AVG:
          a.doubles[i] += longInput[i] ? (double) (Long) v : (Double) v;
          break;
        default:
          throw new IllegalStateException("window: unknown aggregate kind " + kind);
      }
    }
  }

  private void emit(long start, Map<Object, Acc> accs, List<Row> out) {
    long end = windowEnd(start);
    for (Object key : sortedKeys(accs)) {
      Acc a = accs.get(key);
      Object[] values = new Object[3 + kinds.length];
      values[0] = key;
      values[1] = start;
      values[2] = end;
      for (int i = 0; i < kinds.length; i++) {
        values[3 + i] = result(a, i);
      }
      out.add(Row.wrap(values));
    }
  }

  private Object result(Acc a, int i) {
    int kind = kinds[i];
    if (kind == COUNT) {
      return a.count;
    }
    if (a.nonNull[i] == 0) {
      return null;
    }
    switch (kind) {
      case SUM_LONG:
      case MIN_LONG:
      case MAX_LONG:
        return a.longs[i];
      case AVG:
        return a.doubles[i] / a.nonNull[i];
      default:
        return a.doubles[i];
    }
  }

  private List<Object> sortedKeys(Map<Object, Acc> accs) {
    List<Object> keys = new ArrayList<>(accs.keySet());
    keys.sort(KEY_ORDER);
    return keys;
  }

  private long windowStart(long ts) {
    return Math.subtractExact(ts, Math.floorMod(ts, spec.sizeMs()));
  }

  /** Saturates, so a window near the end of time still has an end. */
  private long windowEnd(long start) {
    return start > Long.MAX_VALUE - spec.sizeMs() ? Long.MAX_VALUE : start + spec.sizeMs();
  }

  private long watermark(long max) {
    long lateness = spec.allowedLatenessMs();
    return max < Long.MIN_VALUE + lateness ? Long.MIN_VALUE : max - lateness;
  }

  private String keyText(Object key) {
    return key instanceof String s ? s : key.toString();
  }

  private Object parseKey(String text) {
    if (keyType == FieldType.STRING) {
      return text;
    } else if (keyType == FieldType.BOOLEAN) {
      return Boolean.valueOf(text);
    }
    return Long.valueOf(text);
  }

  /** All keys of one window have the key field's type (String, Long or Boolean): natural order. */
  @SuppressWarnings("unchecked")
  private static final Comparator<Object> KEY_ORDER = (a, b) -> ((Comparable<Object>) a).compareTo(b);

  /** The accumulators of one window touched by the batch under way, over the window's state. */
  private static final class Scratch {
    final HashMap<Object, Acc> base;
    final HashMap<Object, Acc> accs = new HashMap<>();

    Scratch(HashMap<Object, Acc> base) {
      this.base = base;
    }
  }

  /** Mutable running aggregates of one key in one window; slots per aggregate as in {@link WindowAcc}. */
  private static final class Acc {
    long count;
    final long[] nonNull;
    final long[] longs;
    final double[] doubles;

    Acc(int aggregates) {
      this(0, new long[aggregates], new long[aggregates], new double[aggregates]);
    }

    private Acc(long count, long[] nonNull, long[] longs, double[] doubles) {
      this.count = count;
      this.nonNull = nonNull;
      this.longs = longs;
      this.doubles = doubles;
    }

    Acc copy() {
      return new Acc(count, nonNull.clone(), longs.clone(), doubles.clone());
    }

    static Acc of(WindowAcc r) {
      int n = r.nonNull().size();
      Acc a = new Acc(n);
      a.count = r.count();
      for (int i = 0; i < n; i++) {
        a.nonNull[i] = r.nonNull().get(i);
        a.longs[i] = r.longs().get(i);
        a.doubles[i] = r.doubles().get(i);
      }
      return a;
    }

    WindowAcc toRecord(long start, String key) {
      List<Long> nn = new ArrayList<>(nonNull.length);
      List<Long> ls = new ArrayList<>(longs.length);
      List<Double> ds = new ArrayList<>(doubles.length);
      for (int i = 0; i < nonNull.length; i++) {
        nn.add(nonNull[i]);
        ls.add(longs[i]);
        ds.add(doubles[i]);
      }
      return new WindowAcc(start, key, count, nn, ls, ds);
    }
  }
}
