package io.ferry.query.ops;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The window join of two streams (see {@link OperatorSpec.WindowJoin}). Which rows count depends
 * only on each input's own order, and windows close in start order, so the output is the same
 * however the two inputs' batches interleave: the property that lets the distributed engine (which
 * pulls both inputs concurrently) and the local engine agree.
 */
public final class WindowJoinOperator implements Operator {
  /** Rows held in open windows at most, both sides together. */
  public static final long HELD_ROWS_MAX_DEFAULT = 1_000_000;

  private static final int LEFT = 0;
  private static final int RIGHT = 1;

  private final OperatorSpec.WindowJoin spec;
  private final int[] keyIndex = new int[2];
  private final int[] timeIndex = new int[2];
  /** Per side, the positions of the fields the output carries (all but window bounds). */
  private final int[][] carried = new int[2][];
  private final FieldType keyType;
  private final long heldRowsMax;

  /** Open windows by start; per key, the rows of each side in arrival order. */
  private final TreeMap<Long, HashMap<Object, List<Row>[]>> open = new TreeMap<>();

  private long heldRows;
  private final long[] max = {Long.MIN_VALUE, Long.MIN_VALUE};
  private final boolean[] ended = new boolean[2];
  private long lateDropped;
  private long nullDropped;

  public WindowJoinOperator(OperatorSpec.WindowJoin spec, List<Schema> inputs) {
    this(spec, inputs, HELD_ROWS_MAX_DEFAULT);
  }

  public WindowJoinOperator(OperatorSpec.WindowJoin spec, List<Schema> inputs, long heldRowsMax) {
    if (inputs.size() != 2) {
      throw new IllegalArgumentException("window join: needs two input schemas, got " + inputs.size());
    }
    if (heldRowsMax < 1) {
      throw new IllegalArgumentException("window join: heldRowsMax must be positive, got " + heldRowsMax);
    }
    this.spec = spec;
    this.heldRowsMax = heldRowsMax;
    String[] keys = {spec.leftKey(), spec.rightKey()};
    String[] times = {spec.leftTime(), spec.rightTime()};
    for (int side = 0; side < 2; side++) {
      Schema s = inputs.get(side);
      keyIndex[side] = s.indexOf(keys[side]);
      timeIndex[side] = s.indexOf(times[side]);
      if (keyIndex[side] < 0 || timeIndex[side] < 0) {
        throw new IllegalArgumentException("window join: key '" + keys[side] + "' or time '" + times[side] + "' is not in " + s);
      }
      List<Integer> c = new ArrayList<>();
      for (int i = 0; i < s.size(); i++) {
        if (!QueryGraph.isWindowBound(s.fields().get(i))) {
          c.add(i);
        }
      }
      carried[side] = c.stream().mapToInt(Integer::intValue).toArray();
    }
    Field k = inputs.get(LEFT).fields().get(keyIndex[LEFT]);
    this.keyType = k.type();
  }

  @Override
  public Step process(List<Row> input) {
    throw new IllegalStateException("window join: a batch must say which input it came from");
  }

  @Override
  public Step process(int side, List<Row> input) {
    if (side != LEFT && side != RIGHT) {
      throw new IllegalArgumentException("window join: input " + side + " is neither left (0) nor right (1)");
    }
    long sideMax = max[side];
    long late = lateDropped;
    long nulls = nullDropped;
    long watermark = watermark(sideMax);
    // Appended rows per (window, key) in arrival order; the state itself is changed only by apply().
    LinkedHashMap<Long, LinkedHashMap<Object, List<Row>>> added = new LinkedHashMap<>();
    long addedRows = 0;
    for (Row r : input) {
      Object key = r.get(keyIndex[side]);
      Object time = r.get(timeIndex[side]);
      if (key == null || time == null) {
        nulls++;
        continue;
      }
      long ts = (Long) time;
      if (ts > sideMax) {
        sideMax = ts;
        watermark = watermark(sideMax);
      }
      long start = Math.subtractExact(ts, Math.floorMod(ts, spec.sizeMs()));
      if (windowEnd(start) <= watermark) {
        late++;
        continue;
      }
      added.computeIfAbsent(start, s -> new LinkedHashMap<>()).computeIfAbsent(key, x -> new ArrayList<>()).add(r);
      if (heldRows + ++addedRows > heldRowsMax) {
        throw new IllegalStateException(
            "window join: more than " + heldRowsMax + " rows held in open windows: too many rows per window or too much"
                + " allowed lateness for the memory limit");
      }
    }
    long[] newMax = max.clone();
    newMax[side] = sideMax;
    return close(newMax, ended.clone(), late, nulls, side, added);
  }

  @Override
  public Step endInput(int side) {
    boolean[] newEnded = ended.clone();
    newEnded[side] = true;
    return close(max.clone(), newEnded, lateDropped, nullDropped, side, new LinkedHashMap<>());
  }

  @Override
  public Step finish() {
    return close(max.clone(), new boolean[] {true, true}, lateDropped, nullDropped, LEFT, new LinkedHashMap<>());
  }

  /** Emits the windows both watermarks have passed, with this batch's rows added. */
  @SuppressWarnings("unchecked")
  private Step close(
      long[] newMax,
      boolean[] newEnded,
      long late,
      long nulls,
      int addedSide,
      LinkedHashMap<Long, LinkedHashMap<Object, List<Row>>> added) {
    long combined = Math.min(newEnded[LEFT] ? Long.MAX_VALUE : watermark(newMax[LEFT]), newEnded[RIGHT] ? Long.MAX_VALUE : watermark(newMax[RIGHT]));
    boolean all = newEnded[LEFT] && newEnded[RIGHT];
    TreeSet<Long> closing = new TreeSet<>();
    for (Long start : open.keySet()) {
      if (!all && windowEnd(start) > combined) {
        break; // ends grow with starts
      }
      closing.add(start);
    }
    for (Long start : added.keySet()) {
      if (all || windowEnd(start) <= combined) {
        closing.add(start);
      }
    }
    List<Row> out = new ArrayList<>();
    for (Long start : closing) {
      Map<Object, List<Row>[]> rows = new HashMap<>();
      HashMap<Object, List<Row>[]> base = open.get(start);
      if (base != null) {
        base.forEach((k, v) -> rows.put(k, new List[] {new ArrayList<>(v[LEFT]), new ArrayList<>(v[RIGHT])}));
      }
      LinkedHashMap<Object, List<Row>> extra = added.get(start);
      if (extra != null) {
        for (Map.Entry<Object, List<Row>> e : extra.entrySet()) {
          rows.computeIfAbsent(e.getKey(), k -> new List[] {new ArrayList<>(), new ArrayList<>()})[addedSide].addAll(e.getValue());
        }
      }
      emit(start, rows, out);
    }
    List<JoinRows> appended = new ArrayList<>();
    for (Map.Entry<Long, LinkedHashMap<Object, List<Row>>> w : added.entrySet()) {
      if (!closing.contains(w.getKey())) {
        for (Map.Entry<Object, List<Row>> e : w.getValue().entrySet()) {
          appended.add(new JoinRows(w.getKey(), WindowKeys.text(e.getKey()), addedSide, e.getValue()));
        }
      }
    }
    boolean changed =
        !closing.isEmpty() || !appended.isEmpty() || newMax[LEFT] != max[LEFT] || newMax[RIGHT] != max[RIGHT]
            || newEnded[LEFT] != ended[LEFT] || newEnded[RIGHT] != ended[RIGHT] || late != lateDropped || nulls != nullDropped;
    if (!changed) {
      return new Step(out, null);
    }
    return new Step(
        out, new JoinDelta(newMax[LEFT], newMax[RIGHT], newEnded[LEFT], newEnded[RIGHT], late, nulls, appended, new ArrayList<>(closing)));
  }

  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof JoinDelta d)) {
      throw new IllegalArgumentException("window join: cannot apply " + delta.getClass().getSimpleName());
    }
    max[LEFT] = d.leftMax();
    max[RIGHT] = d.rightMax();
    ended[LEFT] = d.leftEnded();
    ended[RIGHT] = d.rightEnded();
    lateDropped = d.lateDropped();
    nullDropped = d.nullDropped();
    d.appended().forEach(this::append);
    for (Long start : d.closedWindowStarts()) {
      HashMap<Object, List<Row>[]> w = open.remove(start);
      if (w != null) {
        for (List<Row>[] sides : w.values()) {
          heldRows -= sides[LEFT].size() + sides[RIGHT].size();
        }
      }
    }
  }

  @Override
  public JoinState snapshot() {
    List<JoinRows> rows = new ArrayList<>();
    for (Map.Entry<Long, HashMap<Object, List<Row>[]>> w : open.entrySet()) {
      List<Object> keys = WindowKeys.sorted(w.getValue().keySet());
      for (Object k : keys) {
        for (int side = 0; side < 2; side++) {
          List<Row> r = w.getValue().get(k)[side];
          if (!r.isEmpty()) {
            rows.add(new JoinRows(w.getKey(), WindowKeys.text(k), side, r));
          }
        }
      }
    }
    return new JoinState(max[LEFT], max[RIGHT], ended[LEFT], ended[RIGHT], lateDropped, nullDropped, rows);
  }

  @Override
  public void restore(OperatorState state) {
    open.clear();
    heldRows = 0;
    max[LEFT] = max[RIGHT] = Long.MIN_VALUE;
    ended[LEFT] = ended[RIGHT] = false;
    lateDropped = 0;
    nullDropped = 0;
    if (state == null) {
      return;
    }
    if (!(state instanceof JoinState s)) {
      throw new IllegalArgumentException("window join: cannot restore " + state.getClass().getSimpleName());
    }
    max[LEFT] = s.leftMax();
    max[RIGHT] = s.rightMax();
    ended[LEFT] = s.leftEnded();
    ended[RIGHT] = s.rightEnded();
    lateDropped = s.lateDropped();
    nullDropped = s.nullDropped();
    s.open().forEach(this::append);
  }

  /** Rows dropped because their window had closed for their input. */
  public long lateDropped() {
    return lateDropped;
  }

  public long nullDropped() {
    return nullDropped;
  }

  public long heldRows() {
    return heldRows;
  }

  @SuppressWarnings("unchecked")
  private void append(JoinRows r) {
    if (r.side() != LEFT && r.side() != RIGHT) {
      throw new IllegalStateException("window join: persisted rows name side " + r.side() + ": the state belongs to another query");
    }
    open.computeIfAbsent(r.windowStart(), s -> new HashMap<>())
        .computeIfAbsent(WindowKeys.parse(keyType, r.key()), k -> new List[] {new ArrayList<>(), new ArrayList<>()})[r.side()]
        .addAll(r.rows());
    heldRows += r.rows().size();
  }

  /** Every (left, right) pair of each key, keys in order, each side in arrival order. */
  private void emit(long start, Map<Object, List<Row>[]> rows, List<Row> out) {
    List<Object> keys = WindowKeys.sorted(rows.keySet());
    long end = windowEnd(start);
    int width = 2 + carried[LEFT].length + carried[RIGHT].length;
    for (Object k : keys) {
      List<Row>[] sides = rows.get(k);
      for (Row l : sides[LEFT]) {
        for (Row r : sides[RIGHT]) {
          Object[] v = new Object[width];
          v[0] = start;
          v[1] = end;
          int i = 2;
          for (int f : carried[LEFT]) {
            v[i++] = l.get(f);
          }
          for (int f : carried[RIGHT]) {
            v[i++] = r.get(f);
          }
          out.add(Row.wrap(v));
        }
      }
    }
  }

  private long windowEnd(long start) {
    return WindowKeys.windowEnd(start, spec.sizeMs());
  }

  private long watermark(long max) {
    return WindowKeys.watermark(max, spec.allowedLatenessMs());
  }



}
