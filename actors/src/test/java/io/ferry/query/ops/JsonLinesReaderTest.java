package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesReaderTest {
  private static final Schema SCHEMA =
      Schema.of(
          Field.of("name", FieldType.STRING),
          Field.of("n", FieldType.LONG),
          Field.of("x", FieldType.DOUBLE),
          Field.of("ok", FieldType.BOOLEAN),
          Field.of("ts", FieldType.TIMESTAMP));

  @TempDir Path dir;

  private Path write(String content) throws IOException {
    Path p = dir.resolve("in.jsonl");
    Files.writeString(p, content, StandardCharsets.UTF_8);
    return p;
  }

  @Test
  void convertsToSchemaTypes() throws IOException {
    Path p = write("{\"name\":\"a\",\"n\":1,\"x\":2,\"ok\":true,\"ts\":5,\"extra\":[1]}\n{\"name\":null,\"x\":1.5}\n");
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      SourceReader.Read read = r.read(0, 10);
      assertEquals(List.of(Row.of("a", 1L, 2.0, true, 5L), Row.of(null, null, 1.5, null, null)), read.rows());
      assertEquals(Files.size(p), read.next());
      assertFalse(read.end(), "a file source tails its file and never ends");
    }
  }

  @Test
  void resumesFromTheReturnedOffset() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 10; i++) {
      sb.append("{\"n\":").append(i).append("}\n");
    }
    Path p = write(sb.toString());
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      SourceReader.Read first = r.read(0, 4);
      assertEquals(4, first.rows().size());
      assertEquals(4 * "{\"n\":0}\n".length(), first.next());
      SourceReader.Read rest = new JsonLinesReader(p.toString(), SCHEMA).read(first.next(), 100);
      assertEquals(6, rest.rows().size());
      assertEquals(4L, rest.rows().get(0).get(1));
      assertEquals(9L, rest.rows().get(5).get(1));
    }
  }

  @Test
  void partialLastLineWaitsForItsNewline() throws IOException {
    Path p = write("{\"n\":1}\n{\"n\":");
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      SourceReader.Read a = r.read(0, 10);
      assertEquals(1, a.rows().size());
      assertEquals(8, a.next());
      assertTrue(r.read(a.next(), 10).rows().isEmpty());
      Files.writeString(p, "2}\n", StandardOpenOption.APPEND);
      SourceReader.Read b = r.read(a.next(), 10);
      assertEquals(List.of(Row.of(null, 2L, null, null, null)), b.rows());
    }
  }

  @Test
  void toleratesCrlfAndBlankLines() throws IOException {
    Path p = write("{\"n\":1}\r\n\r\n{\"n\":2}\r\n");
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      assertEquals(2, r.read(0, 10).rows().size());
    }
  }

  @Test
  void typeErrorNamesTheByteOffset() throws IOException {
    Path p = write("{\"n\":1}\n{\"n\":1.5}\n");
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.read(0, 10));
      assertTrue(e.getMessage().startsWith(p + " at byte 8: field 'n' is LONG"), e.getMessage());
    }
  }

  @Test
  void malformedJsonIsAClearError() throws IOException {
    Path p = write("{\"n\":1}\n{\"n\":}\n");
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.read(0, 10));
      assertTrue(e.getMessage().startsWith(p + " at byte 8: malformed JSON"), e.getMessage());
    }
    Path q = write("[1,2]\n");
    try (JsonLinesReader r = new JsonLinesReader(q.toString(), SCHEMA)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.read(0, 10));
      assertTrue(e.getMessage().contains("expected a JSON object"), e.getMessage());
    }
  }

  @Test
  void lineLongerThanTheLimitFails() throws IOException {
    Path p = write("{\"name\":\"" + "a".repeat(100) + "\"}\n");
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA, 64)) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.read(0, 10));
      assertTrue(e.getMessage().contains("at byte 0") && e.getMessage().contains("64-byte"), e.getMessage());
    }
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA, 200)) {
      assertEquals(1, r.read(0, 10).rows().size());
    }
    String longName = "b".repeat(200_000);
    Path q = write("{\"name\":\"" + longName + "\"}\n{\"n\":3}\n");
    try (JsonLinesReader r = new JsonLinesReader(q.toString(), SCHEMA)) {
      SourceReader.Read read = r.read(0, 10);
      assertEquals(List.of(Row.of(longName, null, null, null, null), Row.of(null, 3L, null, null, null)), read.rows(),
          "a line longer than the first buffer but within the limit is read after the buffer grows");
    }
  }

  @Test
  void missingFileIsAClearError() {
    JsonLinesReader r = new JsonLinesReader(dir.resolve("nope.jsonl").toString(), SCHEMA);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.read(0, 1));
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }
}
