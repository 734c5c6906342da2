package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;

/**
 * A scalar expression over one row, as data, so a {@link OperatorSpec.Calc} can be persisted and
 * sent to any member. {@code io.ferry.query.ops.Exprs} types it against a schema and evaluates it
 * with SQL's rules: null in, null out; AND/OR with three-valued logic.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "e")
@JsonSubTypes({
  @JsonSubTypes.Type(value = Expr.Ref.class, name = "ref"),
  @JsonSubTypes.Type(value = Expr.Lit.class, name = "lit"),
  @JsonSubTypes.Type(value = Expr.Call.class, name = "call"),
  @JsonSubTypes.Type(value = Expr.Case.class, name = "case"),
  @JsonSubTypes.Type(value = Expr.Cast.class, name = "cast")
})
public sealed interface Expr {

  /** The functions a {@link Call} may name. */
  enum Fn {
    PLUS(2),
    MINUS(2),
    TIMES(2),
    DIVIDE(2),
    MOD(2),
    NEGATE(1),
    EQ(2),
    NE(2),
    LT(2),
    LE(2),
    GT(2),
    GE(2),
    AND(-1),
    OR(-1),
    NOT(1),
    IS_NULL(1),
    IS_NOT_NULL(1),
    CONCAT(2),
    UPPER(1),
    LOWER(1),
    ABS(1),
    /** The one-way hash a project's mask uses; the result is no longer PII. */
    MASK(1);

    /** Number of arguments, -1 for two or more. */
    public final int arity;

    Fn(int arity) {
      this.arity = arity;
    }
  }

  /** The value of a field of the input row. */
  record Ref(String field) implements Expr {}

  /**
   * A constant: String, Long, Double, Boolean, or null of the given type. A TIMESTAMP literal is
   * epoch millis; an interval is a LONG number of millis.
   */
  record Lit(Object value, FieldType type) implements Expr {
    public Lit {
      if (type == null) {
        throw new QueryException("a literal needs a type");
      }
      if (value instanceof Integer i) {
        value = Long.valueOf(i);
      }
      if (value != null && !type.accepts(value)) {
        throw new QueryException("literal " + value + " is not a " + type);
      }
    }
  }

  record Call(Fn fn, List<Expr> args) implements Expr {
    public Call {
      args = List.copyOf(args);
      if (fn.arity >= 0 ? args.size() != fn.arity : args.size() < 2) {
        throw new QueryException(fn + " takes " + (fn.arity >= 0 ? fn.arity : "two or more") + " arguments, got " + args.size());
      }
    }
  }

  /** {@code CASE WHEN c1 THEN v1 ... ELSE otherwise END}; a missing ELSE is a typed null literal. */
  record Case(List<When> whens, Expr otherwise) implements Expr {
    public Case {
      whens = List.copyOf(whens);
      if (whens.isEmpty() || otherwise == null) {
        throw new QueryException("CASE needs at least one WHEN and an ELSE");
      }
    }
  }

  record When(Expr condition, Expr then) {}

  record Cast(Expr expr, FieldType to) implements Expr {}

  /** An output column of a calc: its name and how it is computed. */
  record Column(String name, Expr expr) {}
}
