package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessTraceTest {
  @TempDir Path dir;

  @Test
  void savesAndLoadsTheSameTrace() throws IOException {
    AccessTrace t = AccessTrace.of(0, 7, 7, 3, 1L << 35);
    Path f = dir.resolve("boot.trace");
    t.save(f);
    AccessTrace back = AccessTrace.load(f);
    assertEquals(t, back);
    assertEquals(5, back.length());
    assertEquals(1L << 35, back.at(4));
  }

  @Test
  void skipsCommentsAndBlankLines() throws IOException {
    Path f = dir.resolve("t");
    Files.writeString(f, "# boot of vm-1\n\n  12  \n13 # superblock\n   # indented comment\n14\n");
    AccessTrace t = AccessTrace.load(f);
    assertEquals(AccessTrace.of(12, 13, 14), t);
  }

  @Test
  void parseErrorsNameTheLine() throws IOException {
    Path f = dir.resolve("bad");
    Files.writeString(f, "1\n2\n# fine\nthree\n");
    IOException e = assertThrows(IOException.class, () -> AccessTrace.load(f));
    assertTrue(e.getMessage().endsWith("bad:4: not a block index: 'three'"), e.getMessage());

    Files.writeString(f, "1\n-5\n");
    e = assertThrows(IOException.class, () -> AccessTrace.load(f));
    assertTrue(e.getMessage().contains("bad:2: block index must be between 0 and"), e.getMessage());
  }

  @Test
  void lengthIsBounded() throws IOException {
    Path f = dir.resolve("long");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i <= AccessTrace.LENGTH_MAX; i++) {
      sb.append(i).append('\n');
    }
    Files.writeString(f, sb);
    IOException e = assertThrows(IOException.class, () -> AccessTrace.load(f));
    assertTrue(e.getMessage().contains(":" + (AccessTrace.LENGTH_MAX + 1) + ": access trace has more than"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> AccessTrace.of(new long[AccessTrace.LENGTH_MAX + 1]));
    assertThrows(IllegalArgumentException.class, () -> AccessTrace.of(1, -1));
  }

  @Test
  void ofCopiesItsInput() {
    long[] blocks = {1, 2, 3};
    AccessTrace t = AccessTrace.of(blocks);
    blocks[0] = 99;
    assertEquals(1, t.at(0));
  }
}
