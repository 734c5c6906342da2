package io.ferry.query.ops;

import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The keyed session window (see {@link OperatorSpec.SessionWindow}). Like the tumbling window it
 * judges lateness row by row against the watermark after all earlier rows, and a row only joins
 * sessions that are still open at that watermark, so the sessions formed and the order they are
 * emitted in (end, then key) do not depend on how the input was cut into batches.
 */
public final class SessionWindowOperator implements Operator {
  /** Open sessions held in memory at most. */
  public static final long OPEN_SESSIONS_MAX_DEFAULT = 1_000_000;

  private final OperatorSpec.SessionWindow spec;
  private final int keyIndex;
  private final int timeIndex;
  private final FieldType keyType;
  private final Aggregation agg;
  private final long openSessionsMax;

  /** Open sessions of each key, in start order. */
  private final HashMap<Object, List<Session>> open = new HashMap<>();
  /** The keys with a session ending at each time, so closing finds them without a scan. */
  private final TreeMap<Long, Set<Object>> byEnd = new TreeMap<>();

  private long openSessions;
  private long maxEventTime = Long.MIN_VALUE;
  private long lateDropped;
  private long nullDropped;

  public SessionWindowOperator(OperatorSpec.SessionWindow spec, Schema input) {
    this(spec, input, OPEN_SESSIONS_MAX_DEFAULT);
  }

  public SessionWindowOperator(OperatorSpec.SessionWindow spec, Schema input, long openSessionsMax) {
    if (openSessionsMax < 1) {
      throw new IllegalArgumentException("session window: openSessionsMax must be positive, got " + openSessionsMax);
    }
    this.spec = spec;
    this.openSessionsMax = openSessionsMax;
    this.keyIndex = input.indexOf(spec.keyField());
    this.timeIndex = input.indexOf(spec.timeField());
    if (keyIndex < 0 || timeIndex < 0) {
      throw new IllegalArgumentException(
          "session window: key '" + spec.keyField() + "' or time '" + spec.timeField() + "' is not in " + input);
    }
    this.keyType = input.fields().get(keyIndex).type();
    this.agg = new Aggregation("session window", spec.aggregates(), input);
  }

  /** One session: {@code [start, end)} and its aggregates. Never changed once built (copy on write). */
  private record Session(long start, long end, Aggregation.Acc acc) {}

  @Override
  public Step process(List<Row> input) {
    long max = maxEventTime;
    long late = lateDropped;
    long nulls = nullDropped;
    long watermark = watermark(max);
    // Copy-on-write: a touched key's sessions are copied here, so the operator's own state stays as is.
    LinkedHashMap<Object, List<Session>> touched = new LinkedHashMap<>();
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
      long end = sessionEnd(ts);
      if (end <= watermark) {
        late++;
        continue;
      }
      List<Session> sessions = touched.get(key);
      if (sessions == null) {
        sessions = new ArrayList<>(open.getOrDefault(key, List.of()));
        touched.put(key, sessions);
      }
      Aggregation.Acc acc = agg.newAcc();
      agg.add(acc, r, ts);
      Session merged = new Session(ts, end, acc);
      List<Session> kept = new ArrayList<>(sessions.size() + 1);
      for (Session s : sessions) {
        // A session the watermark has passed is closed, even if it is emitted only at the batch's end.
        boolean overlaps = s.start() < merged.end() && merged.start() < s.end();
        if (overlaps && s.end() > watermark) {
          merged =
              new Session(Math.min(s.start(), merged.start()), Math.max(s.end(), merged.end()), agg.merge(s.acc(), merged.acc(), s.start()));
        } else {
          kept.add(s);
        }
      }
      kept.add(merged);
      kept.sort(Comparator.comparingLong(Session::start));
      sessions.clear();
      sessions.addAll(kept);
    }

    // Closing: every session whose end the watermark has reached, in (end, key) order.
    Set<Object> keys = new HashSet<>(touched.keySet());
    for (Set<Object> ks : byEnd.headMap(watermark, true).values()) {
      keys.addAll(ks);
    }
    List<Object[]> closed = new ArrayList<>();
    List<String> deltaKeys = new ArrayList<>();
    List<SessionAcc> stillOpen = new ArrayList<>();
    long count = openSessions;
    for (Object key : WindowKeys.sorted(keys)) {
      List<Session> sessions = touched.containsKey(key) ? touched.get(key) : open.get(key);
      List<Session> before = open.getOrDefault(key, List.of());
      boolean changed = touched.containsKey(key);
      for (Session s : sessions) {
        if (s.end() <= watermark) {
          closed.add(new Object[] {key, s});
          changed = true;
        } else {
          stillOpen.add(new SessionAcc(s.end(), s.acc().toRecord(s.start(), WindowKeys.text(key))));
        }
      }
      count += sessions.size() - before.size();
      if (changed) {
        deltaKeys.add(WindowKeys.text(key));
      }
    }
    if (count > openSessionsMax) {
      throw new IllegalStateException(
          "session window: more than " + openSessionsMax + " open sessions: too many keys or too large a gap for the memory limit");
    }
    closed.sort(CLOSED_ORDER);
    List<Row> out = new ArrayList<>(closed.size());
    for (Object[] c : closed) {
      out.add(emit(c[0], (Session) c[1]));
    }
    // Keep only sessions of keys in the delta: untouched keys with nothing closing stay as they are.
    Set<String> inDelta = new HashSet<>(deltaKeys);
    stillOpen.removeIf(a -> !inDelta.contains(a.acc().key()));
    if (deltaKeys.isEmpty() && max == maxEventTime && late == lateDropped && nulls == nullDropped) {
      return new Step(out, null);
    }
    return new Step(out, new SessionDelta(max, late, nulls, deltaKeys, stillOpen));
  }

  /** Closes every open session, as if the watermark had reached +infinity. */
  @Override
  public Step finish() {
    if (open.isEmpty()) {
      return Step.EMPTY;
    }
    List<Object[]> closed = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (Map.Entry<Object, List<Session>> e : open.entrySet()) {
      keys.add(WindowKeys.text(e.getKey()));
      for (Session s : e.getValue()) {
        closed.add(new Object[] {e.getKey(), s});
      }
    }
    closed.sort(CLOSED_ORDER);
    List<Row> out = new ArrayList<>(closed.size());
    for (Object[] c : closed) {
      out.add(emit(c[0], (Session) c[1]));
    }
    keys.sort(null);
    return new Step(out, new SessionDelta(maxEventTime, lateDropped, nullDropped, keys, List.of()));
  }

  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof SessionDelta d)) {
      throw new IllegalArgumentException("session window: cannot apply " + delta.getClass().getSimpleName());
    }
    maxEventTime = d.maxEventTime();
    lateDropped = d.lateDropped();
    nullDropped = d.nullDropped();
    for (String k : d.keys()) {
      remove(WindowKeys.parse(keyType, k));
    }
    d.open().forEach(this::put);
  }

  @Override
  public SessionState snapshot() {
    List<SessionAcc> accs = new ArrayList<>();
    for (Object key : WindowKeys.sorted(open.keySet())) {
      for (Session s : open.get(key)) {
        accs.add(new SessionAcc(s.end(), s.acc().toRecord(s.start(), WindowKeys.text(key))));
      }
    }
    return new SessionState(maxEventTime, lateDropped, nullDropped, accs);
  }

  @Override
  public void restore(OperatorState state) {
    open.clear();
    byEnd.clear();
    openSessions = 0;
    maxEventTime = Long.MIN_VALUE;
    lateDropped = 0;
    nullDropped = 0;
    if (state == null) {
      return;
    }
    if (!(state instanceof SessionState s)) {
      throw new IllegalArgumentException("session window: cannot restore " + state.getClass().getSimpleName());
    }
    maxEventTime = s.maxEventTime();
    lateDropped = s.lateDropped();
    nullDropped = s.nullDropped();
    s.open().forEach(this::put);
  }

  public long lateDropped() {
    return lateDropped;
  }

  public long nullDropped() {
    return nullDropped;
  }

  public long openSessions() {
    return openSessions;
  }

  private void remove(Object key) {
    List<Session> old = open.remove(key);
    if (old == null) {
      return;
    }
    openSessions -= old.size();
    for (Session s : old) {
      Set<Object> ks = byEnd.get(s.end());
      ks.remove(key);
      if (ks.isEmpty()) {
        byEnd.remove(s.end());
      }
    }
  }

  private void put(SessionAcc a) {
    agg.check(a.acc());
    Object key = WindowKeys.parse(keyType, a.acc().key());
    List<Session> sessions = open.computeIfAbsent(key, k -> new ArrayList<>());
    sessions.add(new Session(a.acc().windowStart(), a.end(), Aggregation.Acc.of(a.acc())));
    sessions.sort(Comparator.comparingLong(Session::start));
    byEnd.computeIfAbsent(a.end(), e -> new HashSet<>()).add(key);
    openSessions++;
  }

  private Row emit(Object key, Session s) {
    Object[] values = new Object[3 + agg.size()];
    values[0] = key;
    values[1] = s.start();
    values[2] = s.end();
    for (int i = 0; i < agg.size(); i++) {
      values[3 + i] = agg.result(s.acc(), i);
    }
    return Row.wrap(values);
  }

  /** Saturates, so a session near the end of time still has an end. */
  private long sessionEnd(long ts) {
    return ts > Long.MAX_VALUE - spec.gapMs() ? Long.MAX_VALUE : ts + spec.gapMs();
  }

  private long watermark(long max) {
    return WindowKeys.watermark(max, spec.allowedLatenessMs());
  }




  private static final Comparator<Object[]> CLOSED_ORDER =
      Comparator.<Object[]>comparingLong(c -> ((Session) c[1]).end()).thenComparing(c -> c[0], WindowKeys.KEY_ORDER);
}
