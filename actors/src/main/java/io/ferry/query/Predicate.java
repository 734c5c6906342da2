package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;

/**
 * A filter condition as data, so a query graph can be persisted and sent to any member. Compiled
 * against a schema by {@code io.ferry.query.ops.Predicates}, which checks fields and types.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "p")
@JsonSubTypes({
  @JsonSubTypes.Type(value = Predicate.Compare.class, name = "cmp"),
  @JsonSubTypes.Type(value = Predicate.And.class, name = "and"),
  @JsonSubTypes.Type(value = Predicate.Or.class, name = "or"),
  @JsonSubTypes.Type(value = Predicate.Not.class, name = "not")
})
public sealed interface Predicate {

  enum Op {
    EQ("="),
    NE("<>"),
    LT("<"),
    LE("<="),
    GT(">"),
    GE(">=");

    public final String symbol;

    Op(String symbol) {
      this.symbol = symbol;
    }
  }

  /** {@code field op literal}; the literal is a String, Long, Double or Boolean. */
  record Compare(String field, Op op, Object literal) implements Predicate {}

  record And(List<Predicate> all) implements Predicate {}

  record Or(List<Predicate> any) implements Predicate {}

  record Not(Predicate predicate) implements Predicate {}

  static Predicate field(String field, Op op, Object literal) {
    Object lit = literal instanceof Integer i ? Long.valueOf(i) : literal;
    return new Compare(field, op, lit);
  }

  default Predicate and(Predicate other) {
    return new And(List.of(this, other));
  }

  default Predicate or(Predicate other) {
    return new Or(List.of(this, other));
  }
}
