package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class GeometryTest {
  @Test
  void acceptsPowersOfTwoFrom4KiBTo4MiB() {
    for (long size = 4096; size <= 4L << 20; size <<= 1) {
      assertEquals(size, Geometry.checkBlockSize(size));
    }
  }

  @Test
  void rejectsOtherBlockSizes() {
    for (long bad : new long[] {3000, 0, -4096, 2048, 8L << 20, 4096 + 512, 1L << 40}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Geometry.checkBlockSize(bad));
      assertEquals(
          "ferry.blocks.block-size must be a power of two between 4 KiB and 4 MiB, got " + bad, e.getMessage());
    }
  }

  @Test
  void blockCountRoundsUp() {
    assertEquals(0, Geometry.blockCount(0, 4096));
    assertEquals(1, Geometry.blockCount(1, 4096));
    assertEquals(1, Geometry.blockCount(4096, 4096));
    assertEquals(2, Geometry.blockCount(4097, 4096));
    assertEquals(256, Geometry.blockCount(1L << 30, 4 << 20));
  }

  @Test
  void blockCountIsBounded() {
    assertEquals(Geometry.BLOCK_COUNT_MAX, Geometry.blockCount(Geometry.BLOCK_COUNT_MAX * 4096, 4096));
    assertThrows(IllegalArgumentException.class, () -> Geometry.blockCount(Geometry.BLOCK_COUNT_MAX * 4096 + 1, 4096));
    assertThrows(IllegalArgumentException.class, () -> Geometry.blockCount(-1, 4096));
    assertThrows(IllegalArgumentException.class, () -> Geometry.blockCount(4096, 3000));
  }
}
