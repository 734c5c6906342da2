package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProjectOperatorTest {
  private static final Schema SCHEMA =
      Schema.of(
          Field.of("a", FieldType.STRING),
          Field.of("b", FieldType.LONG),
          Field.pii("owner", FieldType.STRING),
          Field.of("c", FieldType.DOUBLE));

  private static List<Row> project(OperatorSpec.Project p, Row... rows) {
    return new ProjectOperator(p, SCHEMA).process(List.of(rows)).outputs();
  }

  @Test
  void keepsInputOrderNotKeepListOrder() {
    OperatorSpec.Project p = new OperatorSpec.Project(List.of("c", "a"), List.of(), List.of());
    assertEquals(List.of(Row.of("x", 2.0)), project(p, Row.of("x", 1L, "bob", 2.0)));
  }

  @Test
  void dropsFields() {
    OperatorSpec.Project p = new OperatorSpec.Project(List.of(), List.of("b", "owner"), List.of());
    assertEquals(List.of(Row.of("x", 2.0)), project(p, Row.of("x", 1L, "bob", 2.0)));
  }

  @Test
  void maskIsDeterministicOneWayAndKeepsNull() {
    OperatorSpec.Project p = new OperatorSpec.Project(List.of(), List.of("c"), List.of("owner"));
    List<Row> out = project(p, Row.of("x", 1L, "bob", 2.0), Row.of("y", 2L, "bob", 3.0), Row.of("z", 3L, null, 4.0), Row.of("w", 4L, "alice", 5.0));
    String masked = (String) out.get(0).get(2);
    assertTrue(masked.matches("masked-[0-9a-f]{12}"), masked);
    assertNotEquals("bob", masked);
    assertEquals(masked, out.get(1).get(2));
    assertEquals(masked, project(p, Row.of("q", 0L, "bob", 0.0)).get(0).get(2), "same across operator instances");
    assertNull(out.get(2).get(2));
    assertNotEquals(masked, out.get(3).get(2));
    // SHA-256("bob") begins 81b637d8fcd2
    assertEquals("masked-81b637d8fcd2", masked);
    assertEquals(List.of("x", 1L), List.of(out.get(0).get(0), out.get(0).get(1)));
    assertEquals(3, out.get(0).size());
  }
}
