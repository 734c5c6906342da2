package io.ferry.query.ops;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.List;

/**
 * The aggregates of a window (COUNT, SUM, MIN, MAX, AVG) over the rows of one schema: how a row
 * updates an accumulator, how two accumulators merge (session windows) and the final values. The
 * window operators share it, so every window kind aggregates alike.
 */
final class Aggregation {
  private static final int COUNT = 0;
  private static final int SUM_LONG = 1;
  private static final int SUM_DOUBLE = 2;
  private static final int MIN_LONG = 3;
  private static final int MAX_LONG = 4;
  private static final int MIN_DOUBLE = 5;
  private static final int MAX_DOUBLE = 6;
  private static final int AVG = 7;

  private final String what;
  private final List<Aggregate> aggregates;
  private final int[] kinds;
  private final int[] fields;
  private final boolean[] longInput;

  /** @param what names the operator in messages */
  Aggregation(String what, List<Aggregate> aggregates, Schema input) {
    this.what = what;
    this.aggregates = List.copyOf(aggregates);
    int n = aggregates.size();
    this.kinds = new int[n];
    this.fields = new int[n];
    this.longInput = new boolean[n];
    for (int i = 0; i < n; i++) {
      Aggregate a = aggregates.get(i);
      if (a.fn() == OperatorSpec.AggregateFn.COUNT) {
        kinds[i] = COUNT;
        fields[i] = -1;
        continue;
      }
      fields[i] = input.indexOf(a.field());
      if (fields[i] < 0) {
        throw new IllegalArgumentException(what + ": aggregate field '" + a.field() + "' is not in " + input);
      }
      Field f = input.fields().get(fields[i]);
      if (!f.type().numeric()) {
        throw new IllegalArgumentException(what + ": " + a.fn() + "(" + f.name() + ") needs a numeric field");
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

  int size() {
    return kinds.length;
  }

  Acc newAcc() {
    return new Acc(kinds.length);
  }

  /** Folds {@code from} into a copy of {@code into}: the accumulator of both windows' rows together. */
  Acc merge(Acc into, Acc from, long start) {
    Acc m = into.copy();
    m.count += from.count;
    for (int i = 0; i < kinds.length; i++) {
      if (kinds[i] == COUNT || from.nonNull[i] == 0) {
        continue;
      }
      boolean first = m.nonNull[i] == 0;
      m.nonNull[i] += from.nonNull[i];
      switch (kinds[i]) {
        case SUM_LONG -> {
          try {
            m.longs[i] = Math.addExact(m.longs[i], from.longs[i]);
          } catch (ArithmeticException e) {
            throw new IllegalStateException(
                what + ": SUM(" + aggregates.get(i).field() + ") overflows LONG in the window starting at " + start);
          }
        }
        case MIN_LONG -> m.longs[i] = first ? from.longs[i] : Math.min(m.longs[i], from.longs[i]);
        case MAX_LONG -> m.longs[i] = first ? from.longs[i] : Math.max(m.longs[i], from.longs[i]);
        case MIN_DOUBLE -> m.doubles[i] = first ? from.doubles[i] : Math.min(m.doubles[i], from.doubles[i]);
        case MAX_DOUBLE -> m.doubles[i] = first ? from.doubles[i] : Math.max(m.doubles[i], from.doubles[i]);
        default -> m.doubles[i] += from.doubles[i];
      }
    }
    return m;
  }

  /** Checks that a persisted accumulator fits these aggregates before it is used. */
  void check(WindowAcc a) {
    int n = kinds.length;
    if (a.nonNull().size() != n || a.longs().size() != n || a.doubles().size() != n) {
      throw new IllegalStateException(
          what + ": an accumulator has " + a.nonNull().size() + " aggregates but the operator has " + n
              + ": the state belongs to another query");
    }
  }

  /** Adds one row to {@code a}; {@code start} names the window in an overflow message. */
  void add(Acc a, Row r, long start) {
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
                  what + ": SUM(" + aggregates.get(i).field() + ") overflows LONG in the window starting at "
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
          throw new IllegalStateException(what + ": unknown aggregate kind " + kind);
      }
    }
  }


  /** The value of aggregate {@code i}: COUNT counts rows, the others are null when they saw no value. */
  Object result(Acc a, int i) {
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


  /** Mutable running aggregates of one key in one window; slots per aggregate as in {@link WindowAcc}. */
  static final class Acc {
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
      // Immutable lists from the start: WindowAcc's List.copyOf keeps them as they are instead of
      // copying each again (a snapshot of 150,000 keys made 900,000 lists more than it needed).
      Long[] nn = new Long[nonNull.length];
      Long[] ls = new Long[longs.length];
      Double[] ds = new Double[doubles.length];
      for (int i = 0; i < nonNull.length; i++) {
        nn[i] = nonNull[i];
        ls[i] = longs[i];
        ds[i] = doubles[i];
      }
      return new WindowAcc(start, key, count, List.of(nn), List.of(ls), List.of(ds));
    }
  }
}
