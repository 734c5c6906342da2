package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesFileSinkTest {
  private static final Schema SCHEMA =
      Schema.of(
          Field.of("s", FieldType.STRING),
          Field.of("n", FieldType.LONG),
          Field.of("x", FieldType.DOUBLE),
          Field.of("b", FieldType.BOOLEAN));

  @TempDir Path dir;

  @Test
  void writesOneJsonObjectPerLineThatReadsBack() throws IOException {
    Path p = dir.resolve("sub/dir/out.jsonl");
    List<Row> rows = List.of(Row.of("a \"q\"\nb", 1L, 1.5, true), Row.of(null, null, null, null));
    try (JsonLinesFileSink sink = new JsonLinesFileSink(p.toString(), SCHEMA)) {
      Operator.Step step = sink.process(rows);
      assertEquals(List.of(), step.outputs());
      assertEquals(0, sink.committedBytes(), "process does not commit");
      sink.apply(step.delta());
      assertEquals(Files.size(p), sink.committedBytes());
    }
    assertEquals(
        "{\"s\":\"a \\\"q\\\"\\nb\",\"n\":1,\"x\":1.5,\"b\":true}\n{\"s\":null,\"n\":null,\"x\":null,\"b\":null}\n",
        Files.readString(p));
    try (JsonLinesReader r = new JsonLinesReader(p.toString(), SCHEMA)) {
      assertEquals(rows, r.read(0, 10).rows());
    }
  }

  @Test
  void crashBeforeCommitLeavesExactlyTheCommittedContent() throws IOException {
    Path p = dir.resolve("out.jsonl");
    JsonLinesFileSink first = new JsonLinesFileSink(p.toString(), SCHEMA);
    first.apply(first.process(List.of(Row.of("one", 1L, 1.0, true))).delta());
    String committed = Files.readString(p);
    FileSinkDelta state = first.snapshot();
    first.process(List.of(Row.of("two", 2L, 2.0, false))); // written, never committed: the node crashed
    first.close();
    assertTrue(Files.readString(p).contains("two"));

    JsonLinesFileSink second = new JsonLinesFileSink(p.toString(), SCHEMA);
    second.restore(state);
    second.recovered();
    assertEquals(committed, Files.readString(p));
    second.apply(second.process(List.of(Row.of("two", 2L, 2.0, false))).delta());
    second.close();
    List<String> lines = Files.readAllLines(p);
    assertEquals(2, lines.size(), "no duplicate, no gap: " + lines);
    assertTrue(lines.get(0).contains("one") && lines.get(1).contains("two"), lines.toString());
  }

  @Test
  void processCutsUncommittedBytesEvenWithoutRecovery() throws IOException {
    Path p = dir.resolve("out.jsonl");
    try (JsonLinesFileSink sink = new JsonLinesFileSink(p.toString(), SCHEMA)) {
      Operator.Step attempt = sink.process(List.of(Row.of("x", 1L, 1.0, true)));
      assertEquals(attempt, sink.process(List.of(Row.of("x", 1L, 1.0, true))), "a retried batch writes the same bytes");
      sink.apply(attempt.delta());
    }
    assertEquals(1, Files.readAllLines(p).size());
  }

  @Test
  void fileShorterThanCommittedIsAnError() throws IOException {
    Path p = dir.resolve("out.jsonl");
    JsonLinesFileSink first = new JsonLinesFileSink(p.toString(), SCHEMA);
    first.apply(first.process(List.of(Row.of("one", 1L, 1.0, true), Row.of("two", 2L, 2.0, true))).delta());
    first.close();
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      ch.truncate(5);
    }
    try (JsonLinesFileSink second = new JsonLinesFileSink(p.toString(), SCHEMA)) {
      second.restore(first.snapshot());
      IllegalStateException e = assertThrows(IllegalStateException.class, second::recovered);
      assertTrue(e.getMessage().contains("shorter than its committed length"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> second.process(List.of(Row.of("x", 1L, 1.0, true))));
    }
  }
}
