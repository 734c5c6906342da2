package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonRowsTest {
  private static final Schema SCHEMA =
      Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("x", FieldType.DOUBLE), Field.of("ok", FieldType.BOOLEAN));
  private final JsonRows json = new JsonRows(SCHEMA);

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void roundTripsEveryTypeAndNull() {
    Row r = Row.of("k1", 42L, 1.5, true);
    assertEquals(r, json.decode(json.encode(r)));
    Row withNull = Row.of("k1", null, 2.0, false);
    assertEquals(withNull, json.decode(json.encode(withNull)));
    assertArrayEquals(b("{\"key\":\"k\",\"value\":1,\"x\":null,\"ok\":null}"), json.encode(Row.of("k", 1L, null, null)));
  }

  @Test
  void missingFieldsAreNullAndUnknownFieldsIgnored() {
    assertEquals(Row.of("a", null, null, null), json.decode(b("{\"key\":\"a\",\"other\":[1,2]}")));
    assertEquals(Row.of("a", 3L, 3.0, null), json.decode(b("{\"key\":\"a\",\"value\":3,\"x\":3}")));
  }

  @Test
  void refusesWhatIsNotARowOfTheSchemaWithTheReason() {
    assertTrue(assertThrows(JsonRows.BadRow.class, () -> json.decode(b("{\"key\":"))).getMessage().startsWith("malformed JSON"));
    assertTrue(assertThrows(JsonRows.BadRow.class, () -> json.decode(b("[1]"))).getMessage().contains("expected a JSON object"));
    assertTrue(assertThrows(JsonRows.BadRow.class, () -> json.decode(b(""))).getMessage().contains("expected a JSON object, got nothing"));
    assertTrue(assertThrows(JsonRows.BadRow.class, () -> json.decode(b("{} {}"))).getMessage().startsWith("malformed JSON"));
    String wrongType = assertThrows(JsonRows.BadRow.class, () -> json.decode(b("{\"value\":\"12\"}"))).getMessage();
    assertEquals("field 'value' is LONG but the value is \"12\"", wrongType);
    assertThrows(JsonRows.BadRow.class, () -> json.decode(b("{\"value\":1.5}")));
    assertThrows(JsonRows.BadRow.class, () -> json.decode(b("{\"ok\":1}")));
  }
}
