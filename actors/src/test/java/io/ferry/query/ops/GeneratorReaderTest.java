package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorReaderTest {

  private static OperatorSpec.Generate spec(long seed, long count) {
    return new OperatorSpec.Generate(seed, 10, count, 1_000_000L, 10, 50, 0);
  }

  @Test
  void sameAnchorGivesSameRowsHoweverReadsAreChunked() {
    GeneratorReader r = new GeneratorReader(spec(42, 5000));
    List<Row> whole = r.read(0, 1000).rows();
    List<Row> parts = new ArrayList<>(r.read(0, 300).rows());
    SourceReader.Read second = new GeneratorReader(spec(42, 5000)).read(300, 700);
    parts.addAll(second.rows());
    assertEquals(1000, whole.size());
    assertEquals(whole, parts);
    assertEquals(1000, second.next());
  }

  @Test
  void rowsFollowTheSpec() {
    OperatorSpec.Generate g = spec(7, 1000);
    for (Row row : new GeneratorReader(g).read(0, 1000).rows()) {
      assertTrue(((String) row.get(0)).matches("k[0-9]"), row.toString());
      long v = (Long) row.get(1);
      assertTrue(v >= 0 && v < 1000, row.toString());
      assertTrue(((String) row.get(3)).startsWith("user-"), row.toString());
    }
    Row row5 = new GeneratorReader(g).read(5, 1).rows().get(0);
    long slot = g.startMs() + 5 * g.stepMs();
    long ts = (Long) row5.get(2);
    assertTrue(ts <= slot && ts >= slot - g.disorderMs(), "ts " + ts + " outside its slot " + slot);
  }

  @Test
  void seedsDiffer() {
    assertNotEquals(new GeneratorReader(spec(1, 100)).read(0, 100).rows(), new GeneratorReader(spec(2, 100)).read(0, 100).rows());
  }

  @Test
  void endsAtCount() {
    GeneratorReader r = new GeneratorReader(spec(1, 10));
    SourceReader.Read a = r.read(0, 7);
    assertEquals(7, a.rows().size());
    assertFalse(a.end());
    SourceReader.Read b = r.read(a.next(), 7);
    assertEquals(3, b.rows().size());
    assertEquals(10, b.next());
    assertTrue(b.end());
    SourceReader.Read c = r.read(10, 7);
    assertTrue(c.rows().isEmpty());
    assertTrue(c.end());
    assertThrows(IllegalArgumentException.class, () -> r.read(11, 1));
  }

  @Test
  void endlessWhenCountIsMinusOne() {
    SourceReader.Read far = new GeneratorReader(spec(1, -1)).read(1_000_000_000L, 50);
    assertEquals(50, far.rows().size());
    assertFalse(far.end());
  }
}
