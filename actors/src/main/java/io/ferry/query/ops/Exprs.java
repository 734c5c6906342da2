package io.ferry.query.ops;

import io.ferry.query.Expr;
import io.ferry.query.Expr.Fn;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.QueryException;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Locale;

/**
 * Types and evaluates {@link Expr} trees against a schema: the one place the expression rules live,
 * used by the graph checker, the calc operator and the SQL compiler's tests. Nulls propagate; a
 * LONG divided by zero is null (the row is kept, the value is unknown) rather than a failed node.
 */
public final class Exprs {
  /** How a TIMESTAMP is written as text and read from text: SQL's literal form, UTC. */
  static final DateTimeFormatter TIMESTAMP_TEXT =
      new DateTimeFormatterBuilder()
          .appendPattern("yyyy-MM-dd HH:mm:ss")
          .optionalStart()
          .appendFraction(ChronoField.MILLI_OF_SECOND, 0, 3, true)
          .optionalEnd()
          .toFormatter(Locale.ROOT);

  /** A compiled expression. */
  @FunctionalInterface
  public interface Eval {
    Object eval(Row row);
  }

  private Exprs() {}

  /** The type of {@code e} over rows of {@code in}; throws a QueryException naming {@code where} when it has none. */
  public static FieldType type(Expr e, Schema in, String where) {
    if (e instanceof Expr.Ref r) {
      return in.require(r.field(), where).type();
    } else if (e instanceof Expr.Lit l) {
      return l.type();
    } else if (e instanceof Expr.Cast c) {
      FieldType from = type(c.expr(), in, where);
      boolean ok =
          from == c.to()
              || from == FieldType.STRING
              || c.to() == FieldType.STRING
              || (from != FieldType.BOOLEAN && c.to() != FieldType.BOOLEAN);
      if (!ok) {
        throw new QueryException(where + ": type mismatch: cannot cast " + from + " to " + c.to());
      }
      return c.to();
    } else if (e instanceof Expr.Case k) {
      FieldType result = null;
      for (Expr.When w : k.whens()) {
        expect(w.condition(), FieldType.BOOLEAN, in, where, "a CASE condition");
        result = common(result, type(w.then(), in, where), where);
      }
      return common(result, type(k.otherwise(), in, where), where);
    }
    Expr.Call c = (Expr.Call) e;
    List<Expr> a = c.args();
    switch (c.fn()) {
      case PLUS, MINUS -> {
        FieldType l = numeric(a.get(0), in, where, c.fn());
        FieldType r = numeric(a.get(1), in, where, c.fn());
        if (l == FieldType.TIMESTAMP && r == FieldType.TIMESTAMP) {
          if (c.fn() == Fn.PLUS) {
            throw new QueryException(where + ": type mismatch: cannot add two TIMESTAMPs");
          }
          return FieldType.LONG;
        }
        if (l == FieldType.TIMESTAMP || r == FieldType.TIMESTAMP) {
          if ((l == FieldType.TIMESTAMP ? r : l) != FieldType.LONG || (c.fn() == Fn.MINUS && r == FieldType.TIMESTAMP)) {
            throw new QueryException(where + ": type mismatch: " + l + " " + c.fn() + " " + r);
          }
          return FieldType.TIMESTAMP;
        }
        return l == FieldType.DOUBLE || r == FieldType.DOUBLE ? FieldType.DOUBLE : FieldType.LONG;
      }
      case TIMES, DIVIDE, MOD -> {
        FieldType l = arithmetic(a.get(0), in, where, c.fn());
        FieldType r = arithmetic(a.get(1), in, where, c.fn());
        return l == FieldType.DOUBLE || r == FieldType.DOUBLE ? FieldType.DOUBLE : FieldType.LONG;
      }
      case NEGATE, ABS -> {
        return arithmetic(a.get(0), in, where, c.fn());
      }
      case EQ, NE, LT, LE, GT, GE -> {
        FieldType l = type(a.get(0), in, where);
        FieldType r = type(a.get(1), in, where);
        if (!comparable(l, r)) {
          throw new QueryException(where + ": type mismatch: cannot compare " + l + " with " + r);
        }
        return FieldType.BOOLEAN;
      }
      case AND, OR -> {
        for (Expr x : a) {
          expect(x, FieldType.BOOLEAN, in, where, c.fn() + "'s operand");
        }
        return FieldType.BOOLEAN;
      }
      case NOT -> {
        expect(a.get(0), FieldType.BOOLEAN, in, where, "NOT's operand");
        return FieldType.BOOLEAN;
      }
      case IS_NULL, IS_NOT_NULL -> {
        type(a.get(0), in, where);
        return FieldType.BOOLEAN;
      }
      case CONCAT -> {
        expect(a.get(0), FieldType.STRING, in, where, "||'s operand");
        expect(a.get(1), FieldType.STRING, in, where, "||'s operand");
        return FieldType.STRING;
      }
      case UPPER, LOWER, MASK -> {
        expect(a.get(0), FieldType.STRING, in, where, c.fn() + "'s argument");
        return FieldType.STRING;
      }
    }
    throw new IllegalStateException("unknown function " + c.fn());
  }

  /** True when the value of {@code e} carries a PII field of {@code in} (not masked). */
  public static boolean pii(Expr e, Schema in) {
    if (e instanceof Expr.Ref r) {
      return in.field(r.field()).map(Field::pii).orElse(false);
    } else if (e instanceof Expr.Cast c) {
      return pii(c.expr(), in);
    } else if (e instanceof Expr.Case k) {
      return pii(k.otherwise(), in) || k.whens().stream().anyMatch(w -> pii(w.condition(), in) || pii(w.then(), in));
    } else if (e instanceof Expr.Call c) {
      return c.fn() != Fn.MASK && c.args().stream().anyMatch(x -> pii(x, in));
    }
    return false;
  }

  /** Checks {@code e} against {@code in} and compiles it for rows of that schema. */
  public static Eval compile(Expr e, Schema in) {
    type(e, in, "expression");
    return build(e, in);
  }

  private static Eval build(Expr e, Schema in) {
    if (e instanceof Expr.Ref r) {
      int i = in.indexOf(r.field());
      return row -> row.get(i);
    } else if (e instanceof Expr.Lit l) {
      Object v = l.value();
      return row -> v;
    } else if (e instanceof Expr.Cast c) {
      Eval x = build(c.expr(), in);
      FieldType from = type(c.expr(), in, "cast");
      FieldType to = c.to();
      return row -> cast(x.eval(row), from, to);
    } else if (e instanceof Expr.Case k) {
      int n = k.whens().size();
      Eval[] conds = new Eval[n];
      Eval[] thens = new Eval[n];
      boolean widen = type(k, in, "case") == FieldType.DOUBLE;
      for (int i = 0; i < n; i++) {
        conds[i] = build(k.whens().get(i).condition(), in);
        thens[i] = build(k.whens().get(i).then(), in);
      }
      Eval otherwise = build(k.otherwise(), in);
      return row -> {
        for (int i = 0; i < n; i++) {
          if (Boolean.TRUE.equals(conds[i].eval(row))) {
            return widen ? toDouble(thens[i].eval(row)) : thens[i].eval(row);
          }
        }
        return widen ? toDouble(otherwise.eval(row)) : otherwise.eval(row);
      };
    }
    Expr.Call c = (Expr.Call) e;
    Eval[] a = c.args().stream().map(x -> build(x, in)).toArray(Eval[]::new);
    FieldType result = type(c, in, "call");
    switch (c.fn()) {
      case PLUS, MINUS, TIMES, DIVIDE, MOD -> {
        boolean dbl = result == FieldType.DOUBLE;
        Fn fn = c.fn();
        return row -> {
          Object l = a[0].eval(row);
          Object r = a[1].eval(row);
          if (l == null || r == null) {
            return null;
          }
          return dbl ? arith(fn, toDouble(l), toDouble(r)) : arith(fn, (Long) l, (Long) r);
        };
      }
      case NEGATE -> {
        return row -> {
          Object v = a[0].eval(row);
          return v == null ? null : v instanceof Long x ? (Object) (-x) : (Object) (-(Double) v);
        };
      }
      case ABS -> {
        return row -> {
          Object v = a[0].eval(row);
          return v == null ? null : v instanceof Long x ? (Object) Math.abs(x) : (Object) Math.abs((Double) v);
        };
      }
      case EQ, NE, LT, LE, GT, GE -> {
        Fn fn = c.fn();
        return row -> {
          Object l = a[0].eval(row);
          Object r = a[1].eval(row);
          if (l == null || r == null) {
            return null;
          }
          if (l instanceof Double || r instanceof Double) {
            double x = toDouble(l);
            double y = toDouble(r);
            return switch (fn) {
              case EQ -> x == y;
              case NE -> x != y;
              case LT -> x < y;
              case LE -> x <= y;
              case GT -> x > y;
              default -> x >= y;
            };
          }
          @SuppressWarnings("unchecked")
          int cmp = ((Comparable<Object>) l).compareTo(r);
          return switch (fn) {
            case EQ -> cmp == 0;
            case NE -> cmp != 0;
            case LT -> cmp < 0;
            case LE -> cmp <= 0;
            case GT -> cmp > 0;
            default -> cmp >= 0;
          };
        };
      }
      case AND -> {
        return row -> {
          boolean unknown = false;
          for (Eval x : a) {
            Object v = x.eval(row);
            if (Boolean.FALSE.equals(v)) {
              return false;
            }
            unknown |= v == null;
          }
          return unknown ? null : true;
        };
      }
      case OR -> {
        return row -> {
          boolean unknown = false;
          for (Eval x : a) {
            Object v = x.eval(row);
            if (Boolean.TRUE.equals(v)) {
              return true;
            }
            unknown |= v == null;
          }
          return unknown ? null : false;
        };
      }
      case NOT -> {
        return row -> {
          Object v = a[0].eval(row);
          return v == null ? null : !(Boolean) v;
        };
      }
      case IS_NULL -> {
        return row -> a[0].eval(row) == null;
      }
      case IS_NOT_NULL -> {
        return row -> a[0].eval(row) != null;
      }
      case CONCAT -> {
        return row -> {
          Object l = a[0].eval(row);
          Object r = a[1].eval(row);
          return l == null || r == null ? null : (String) l + r;
        };
      }
      case UPPER -> {
        return row -> {
          Object v = a[0].eval(row);
          return v == null ? null : ((String) v).toUpperCase(Locale.ROOT);
        };
      }
      case LOWER -> {
        return row -> {
          Object v = a[0].eval(row);
          return v == null ? null : ((String) v).toLowerCase(Locale.ROOT);
        };
      }
      case MASK -> {
        ProjectOperator masker = new ProjectOperator(new io.ferry.query.OperatorSpec.Project(List.of(), List.of(), List.of()), in);
        return row -> {
          Object v = a[0].eval(row);
          return v == null ? null : masker.mask((String) v);
        };
      }
    }
    throw new IllegalStateException("unknown function " + c.fn());
  }

  private static Object arith(Fn fn, long l, long r) {
    return switch (fn) {
      case PLUS -> l + r;
      case MINUS -> l - r;
      case TIMES -> l * r;
      case DIVIDE -> r == 0 ? null : l / r;
      default -> r == 0 ? null : l % r;
    };
  }

  private static Object arith(Fn fn, double l, double r) {
    return switch (fn) {
      case PLUS -> l + r;
      case MINUS -> l - r;
      case TIMES -> l * r;
      case DIVIDE -> l / r;
      default -> l % r;
    };
  }

  private static Double toDouble(Object v) {
    return v == null ? null : v instanceof Long l ? (double) l : (Double) v;
  }

  /** SQL CAST; text that does not parse as the target type gives null. */
  static Object cast(Object v, FieldType from, FieldType to) {
    if (v == null || from == to) {
      return v;
    }
    switch (to) {
      case STRING -> {
        return from == FieldType.TIMESTAMP
            ? TIMESTAMP_TEXT.format(LocalDateTime.ofInstant(Instant.ofEpochMilli((Long) v), ZoneOffset.UTC))
            : String.valueOf(v);
      }
      case LONG, TIMESTAMP -> {
        if (v instanceof String s) {
          try {
            return to == FieldType.TIMESTAMP
                ? LocalDateTime.parse(s.trim(), TIMESTAMP_TEXT).toInstant(ZoneOffset.UTC).toEpochMilli()
                : Long.parseLong(s.trim());
          } catch (NumberFormatException | DateTimeParseException e) {
            return null;
          }
        }
        return v instanceof Double d ? (Object) (long) (double) d : v;
      }
      case DOUBLE -> {
        if (v instanceof String s) {
          try {
            return Double.parseDouble(s.trim());
          } catch (NumberFormatException e) {
            return null;
          }
        }
        return toDouble(v);
      }
      case BOOLEAN -> {
        String s = ((String) v).trim();
        return s.equalsIgnoreCase("true") ? Boolean.TRUE : s.equalsIgnoreCase("false") ? Boolean.FALSE : null;
      }
    }
    throw new IllegalStateException("unknown type " + to);
  }

  private static boolean comparable(FieldType l, FieldType r) {
    boolean ln = l == FieldType.LONG || l == FieldType.DOUBLE;
    boolean rn = r == FieldType.LONG || r == FieldType.DOUBLE;
    return l == r || (ln && rn);
  }

  private static FieldType common(FieldType a, FieldType b, String where) {
    if (a == null || a == b) {
      return b;
    }
    if ((a == FieldType.LONG && b == FieldType.DOUBLE) || (a == FieldType.DOUBLE && b == FieldType.LONG)) {
      return FieldType.DOUBLE;
    }
    throw new QueryException(where + ": type mismatch: CASE branches are " + a + " and " + b);
  }

  private static void expect(Expr e, FieldType t, Schema in, String where, String what) {
    FieldType got = type(e, in, where);
    if (got != t) {
      throw new QueryException(where + ": type mismatch: " + what + " must be " + t + ", not " + got);
    }
  }

  private static FieldType numeric(Expr e, Schema in, String where, Fn fn) {
    FieldType t = type(e, in, where);
    if (!t.numeric()) {
      throw new QueryException(where + ": type mismatch: " + fn + " needs numbers, got " + t);
    }
    return t;
  }

  private static FieldType arithmetic(Expr e, Schema in, String where, Fn fn) {
    FieldType t = type(e, in, where);
    if (t != FieldType.LONG && t != FieldType.DOUBLE) {
      throw new QueryException(where + ": type mismatch: " + fn + " needs LONG or DOUBLE, got " + t);
    }
    return t;
  }
}
