package io.ferry.query.ops;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.List;

/**
 * Compiles a {@link Predicate} against a schema once, so the filter's hot path does no field
 * lookups or type dispatch on names. A comparison with a null field value is false (and so its
 * negation is true): rows with missing data never match a condition on that data.
 */
public final class Predicates {

  /** A compiled condition over rows of the schema it was compiled for. */
  @FunctionalInterface
  public interface Compiled {
    boolean test(Row row);
  }

  private Predicates() {}

  /** Checks the predicate like {@link QueryGraph#compile()} does, then compiles it. */
  public static Compiled compile(Predicate p, Schema schema) {
    QueryGraph.checkPredicate(p, schema, "filter");
    return build(p, schema);
  }

  private static Compiled build(Predicate p, Schema schema) {
    if (p instanceof Predicate.Compare c) {
      return compare(c, schema);
    } else if (p instanceof Predicate.And a) {
      Compiled[] all = buildAll(a.all(), schema);
      return row -> {
        for (Compiled x : all) {
          if (!x.test(row)) {
            return false;
          }
        }
        return true;
      };
    } else if (p instanceof Predicate.Or o) {
      Compiled[] any = buildAll(o.any(), schema);
      return row -> {
        for (Compiled x : any) {
          if (x.test(row)) {
            return true;
          }
        }
        return false;
      };
    } else if (p instanceof Predicate.Not n) {
      Compiled inner = build(n.predicate(), schema);
      return row -> !inner.test(row);
    }
    throw new IllegalArgumentException("unknown predicate " + p);
  }

  private static Compiled[] buildAll(List<Predicate> ps, Schema schema) {
    Compiled[] out = new Compiled[ps.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = build(ps.get(i), schema);
    }
    return out;
  }

  private static Compiled compare(Predicate.Compare c, Schema schema) {
    int i = schema.indexOf(c.field());
    Field f = schema.fields().get(i);
    Predicate.Op op = c.op();
    FieldType t = f.type();
    if (t == FieldType.STRING) {
      String lit = (String) c.literal();
      return row -> {
        Object v = row.get(i);
        return v != null && holds(op, ((String) v).compareTo(lit));
      };
    } else if (t == FieldType.LONG || t == FieldType.TIMESTAMP) {
      long lit = (Long) c.literal();
      return row -> {
        Object v = row.get(i);
        return v != null && holds(op, Long.compare((Long) v, lit));
      };
    } else if (t == FieldType.DOUBLE) {
      // A Long literal against a DOUBLE field compares numerically; QueryGraph allows both.
      double lit = ((Number) c.literal()).doubleValue();
      return row -> {
        Object v = row.get(i);
        return v != null && holdsDouble(op, (Double) v, lit);
      };
    } else {
      boolean lit = (Boolean) c.literal();
      return row -> {
        Object v = row.get(i);
        return v != null && holds(op, Boolean.compare((Boolean) v, lit));
      };
    }
  }

  private static boolean holds(Predicate.Op op, int cmp) {
    return switch (op) {
      case EQ -> cmp == 0;
      case NE -> cmp != 0;
      case LT -> cmp < 0;
      case LE -> cmp <= 0;
      case GT -> cmp > 0;
      case GE -> cmp >= 0;
    };
  }

  /** Primitive comparisons, so NaN matches nothing but {@code <>}, as in IEEE 754. */
  private static boolean holdsDouble(Predicate.Op op, double v, double lit) {
    return switch (op) {
      case EQ -> v == lit;
      case NE -> v != lit;
      case LT -> v < lit;
      case LE -> v <= lit;
      case GT -> v > lit;
      case GE -> v >= lit;
    };
  }
}
