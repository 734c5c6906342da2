package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Expr;
import io.ferry.query.Expr.Call;
import io.ferry.query.Expr.Fn;
import io.ferry.query.Expr.Lit;
import io.ferry.query.Expr.Ref;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Expression typing, SQL null logic, casts, PII propagation and the calc operator. */
class ExprsTest {
  static final Schema IN =
      Schema.of(Field.of("s", FieldType.STRING), Field.of("n", FieldType.LONG), Field.of("d", FieldType.DOUBLE), Field.of("ts", FieldType.TIMESTAMP), Field.pii("who", FieldType.STRING));

  static Object eval(Expr e, Row r) {
    return Exprs.compile(e, IN).eval(r);
  }

  static Call call(Fn fn, Expr... args) {
    return new Call(fn, List.of(args));
  }

  static final Row ROW = Row.of("ab", 7L, 0.5, 1_000L, "alice");
  static final Row NULLS = Row.of(null, null, null, null, null);

  @Test
  void arithmeticWidensAndPropagatesNull() {
    assertEquals(14L, eval(call(Fn.TIMES, new Ref("n"), new Lit(2L, FieldType.LONG)), ROW));
    assertEquals(7.5, eval(call(Fn.PLUS, new Ref("n"), new Ref("d")), ROW));
    assertEquals(900L, eval(call(Fn.MINUS, new Ref("ts"), new Lit(100L, FieldType.LONG)), ROW));
    assertEquals(FieldType.TIMESTAMP, Exprs.type(call(Fn.MINUS, new Ref("ts"), new Lit(100L, FieldType.LONG)), IN, "t"));
    assertNull(eval(call(Fn.DIVIDE, new Ref("n"), new Lit(0L, FieldType.LONG)), ROW));
    assertNull(eval(call(Fn.PLUS, new Ref("n"), new Ref("d")), NULLS));
    assertEquals(-7L, eval(call(Fn.NEGATE, new Ref("n")), ROW));
  }

  @Test
  void threeValuedLogic() {
    Expr unknown = call(Fn.GT, new Ref("n"), new Lit(1L, FieldType.LONG));
    Expr no = new Lit(false, FieldType.BOOLEAN);
    Expr yes = new Lit(true, FieldType.BOOLEAN);
    assertEquals(false, eval(call(Fn.AND, unknown, no), NULLS));
    assertNull(eval(call(Fn.AND, unknown, yes), NULLS));
    assertEquals(true, eval(call(Fn.OR, unknown, yes), NULLS));
    assertNull(eval(call(Fn.NOT, unknown), NULLS));
    assertEquals(true, eval(call(Fn.IS_NULL, new Ref("s")), NULLS));
  }

  @Test
  void caseAndCast() {
    Expr k = new Expr.Case(List.of(new Expr.When(call(Fn.GT, new Ref("n"), new Lit(5L, FieldType.LONG)), new Ref("n"))), new Ref("d"));
    assertEquals(FieldType.DOUBLE, Exprs.type(k, IN, "t"));
    assertEquals(7.0, eval(k, ROW));
    assertEquals("1970-01-01 00:00:01", eval(new Expr.Cast(new Ref("ts"), FieldType.STRING), ROW));
    assertEquals(1_000L, eval(new Expr.Cast(new Lit("1970-01-01 00:00:01", FieldType.STRING), FieldType.TIMESTAMP), ROW));
    assertNull(eval(new Expr.Cast(new Ref("s"), FieldType.LONG), ROW));
    assertEquals(0L, eval(new Expr.Cast(new Ref("d"), FieldType.LONG), ROW));
    assertThrows(QueryException.class, () -> Exprs.type(new Expr.Cast(new Ref("n"), FieldType.BOOLEAN), IN, "t"));
  }

  @Test
  void typeMismatchesAndUnknownFieldsAreNamed() {
    QueryException e = assertThrows(QueryException.class, () -> Exprs.type(call(Fn.PLUS, new Ref("s"), new Ref("n")), IN, "node c"));
    assertTrue(e.getMessage().contains("type mismatch"), e.getMessage());
    e = assertThrows(QueryException.class, () -> Exprs.type(new Ref("nope"), IN, "node c"));
    assertTrue(e.getMessage().contains("unknown field 'nope'"), e.getMessage());
    assertThrows(QueryException.class, () -> Exprs.type(call(Fn.EQ, new Ref("s"), new Ref("n")), IN, "t"));
  }

  @Test
  void piiFollowsTheValueUnlessMasked() {
    assertTrue(Exprs.pii(call(Fn.UPPER, new Ref("who")), IN));
    assertFalse(Exprs.pii(call(Fn.MASK, new Ref("who")), IN));
    assertFalse(Exprs.pii(new Ref("s"), IN));
    assertEquals(eval(call(Fn.MASK, new Ref("who")), ROW), new ProjectOperator(new OperatorSpec.Project(List.of(), List.of(), List.of("who")), IN).mask("alice"));
  }

  @Test
  void calcFiltersAndComputesWithPiiInItsSchema() {
    OperatorSpec.Calc calc =
        new OperatorSpec.Calc(
            call(Fn.GT, new Ref("n"), new Lit(5L, FieldType.LONG)),
            List.of(new Expr.Column("up", call(Fn.UPPER, new Ref("s"))), new Expr.Column("w", new Ref("who"))));
    List<NodeSpec> specs =
        new QueryGraph(new QueryId("q"), List.of(
                new NodeDef(new NodeId("src"), new OperatorSpec.ReadJsonLines("/x", IN), List.of()),
                new NodeDef(new NodeId("c"), calc, List.of(new NodeId("src"))),
                new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("c")))))
            .compile();
    Schema out = specs.get(1).outputSchema();
    assertEquals(List.of(Field.of("up", FieldType.STRING), Field.pii("w", FieldType.STRING)), out.fields());
    CalcOperator op = new CalcOperator(calc, IN);
    assertEquals(List.of(Row.of("AB", "alice")), op.process(List.of(ROW, Row.of("x", 1L, 0.0, 0L, "bob"), NULLS)).outputs());
  }
}
