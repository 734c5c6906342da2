package io.ferry.simulator.check;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Row;
import java.util.List;
import org.junit.jupiter.api.Test;

class OnceOnlyCheckTest {
  private static final List<Row> REFERENCE = List.of(Row.of("k1", 1L), Row.of("k2", 2L), Row.of("k1", 3L));

  @Test
  void sameRowsInAnotherOrderPass() {
    assertTrue(OnceOnlyCheck.check("out", REFERENCE, List.of(Row.of("k1", 3L), Row.of("k1", 1L), Row.of("k2", 2L))).ok());
  }

  @Test
  void aDuplicateIsCaught() {
    var v = OnceOnlyCheck.check("out", REFERENCE, List.of(Row.of("k1", 1L), Row.of("k2", 2L), Row.of("k2", 2L), Row.of("k1", 3L)));
    assertFalse(v.ok(), v.detail());
    assertTrue(v.detail().contains("duplicated=1"), v.detail());
  }

  @Test
  void aLostRowIsCaught() {
    var v = OnceOnlyCheck.check("out", REFERENCE, List.of(Row.of("k1", 1L), Row.of("k1", 3L)));
    assertFalse(v.ok(), v.detail());
    assertTrue(v.detail().contains("lost=1"), v.detail());
  }

  @Test
  void anUnexpectedRowIsCaught() {
    assertFalse(OnceOnlyCheck.check("out", REFERENCE, List.of(Row.of("k1", 1L), Row.of("k2", 2L), Row.of("k1", 4L))).ok());
  }
}
