package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.Predicate;
import io.ferry.query.Predicate.Op;
import io.ferry.query.QueryException;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.List;
import org.junit.jupiter.api.Test;

class FilterOperatorTest {
  private static final Schema SCHEMA =
      Schema.of(
          Field.of("s", FieldType.STRING),
          Field.of("l", FieldType.LONG),
          Field.of("d", FieldType.DOUBLE),
          Field.of("b", FieldType.BOOLEAN));

  private static final List<Row> ROWS =
      List.of(
          Row.of("a", 1L, 1.0, true),
          Row.of("b", 2L, 2.5, false),
          Row.of("c", 3L, 3.0, true),
          Row.of(null, null, null, null));

  private static List<Row> filter(Predicate p) {
    Operator.Step step = new FilterOperator(p, SCHEMA).process(ROWS);
    assertNull(step.delta(), "a filter has no state");
    return step.outputs();
  }

  @Test
  void eachComparisonOnLongs() {
    assertEquals(List.of(ROWS.get(1)), filter(Predicate.field("l", Op.EQ, 2)));
    assertEquals(List.of(ROWS.get(0), ROWS.get(2)), filter(Predicate.field("l", Op.NE, 2)));
    assertEquals(List.of(ROWS.get(0)), filter(Predicate.field("l", Op.LT, 2)));
    assertEquals(List.of(ROWS.get(0), ROWS.get(1)), filter(Predicate.field("l", Op.LE, 2)));
    assertEquals(List.of(ROWS.get(2)), filter(Predicate.field("l", Op.GT, 2)));
    assertEquals(List.of(ROWS.get(1), ROWS.get(2)), filter(Predicate.field("l", Op.GE, 2)));
  }

  @Test
  void stringsCompareLexicographically() {
    assertEquals(List.of(ROWS.get(1), ROWS.get(2)), filter(Predicate.field("s", Op.GE, "b")));
    assertEquals(List.of(ROWS.get(0)), filter(Predicate.field("s", Op.LT, "aa")));
  }

  @Test
  void doubleFieldAgainstLongLiteralComparesNumerically() {
    assertEquals(List.of(ROWS.get(1), ROWS.get(2)), filter(Predicate.field("d", Op.GT, 2)));
    assertEquals(List.of(ROWS.get(2)), filter(Predicate.field("d", Op.EQ, 3)));
    assertEquals(List.of(ROWS.get(0)), filter(Predicate.field("d", Op.LT, 2.5)));
  }

  @Test
  void booleansAndCombinators() {
    assertEquals(List.of(ROWS.get(0), ROWS.get(2)), filter(Predicate.field("b", Op.EQ, true)));
    assertEquals(List.of(ROWS.get(2)), filter(Predicate.field("b", Op.EQ, true).and(Predicate.field("l", Op.GT, 1))));
    assertEquals(List.of(ROWS.get(0), ROWS.get(1)), filter(Predicate.field("s", Op.EQ, "a").or(Predicate.field("l", Op.EQ, 2))));
  }

  @Test
  void nullValuesNeverMatchAComparison() {
    for (Op op : Op.values()) {
      List<Row> out = filter(Predicate.field("l", op, 0));
      assertEquals(-1, out.indexOf(ROWS.get(3)), "null matched l " + op.symbol + " 0");
    }
    assertEquals(List.of(ROWS.get(1), ROWS.get(3)), filter(new Predicate.Not(Predicate.field("b", Op.EQ, true))),
        "NOT of a false comparison on null is true");
  }

  @Test
  void typeMismatchIsRejected() {
    assertThrows(QueryException.class, () -> new FilterOperator(Predicate.field("l", Op.EQ, "x"), SCHEMA));
  }
}
