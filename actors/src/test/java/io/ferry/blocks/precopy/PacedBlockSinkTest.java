package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The passes' link share: writes keep to the rate (a lower bound on the time, whatever the load) and reach the sink in order. */
class PacedBlockSinkTest {

  @Test
  void writesKeepToTheRateAndArriveInOrder() throws Exception {
    List<Long> offsets = new ArrayList<>();
    int[] flushes = {0};
    BlockSink inner = new BlockSink() {
      @Override
      public synchronized void write(long offset, byte[] data, int length) {
        offsets.add(offset);
      }

      @Override
      public void flush() {
        flushes[0]++;
      }

      @Override
      public void close() {}
    };
    PacedBlockSink paced = new PacedBlockSink(inner, 256 * 1024);
    long t0 = System.nanoTime();
    for (int i = 0; i < 4; i++) {
      paced.write(i * 65536L, new byte[65536], 65536);
    }
    long millis = (System.nanoTime() - t0) / 1_000_000;
    // 256 KiB at 256 KiB/s: the first write at once, each later one a quarter second after the one before.
    assertTrue(millis >= 740, "4 x 64 KiB at 256 KiB/s took only " + millis + " ms");
    assertEquals(List.of(0L, 65536L, 131072L, 196608L), offsets);
    paced.flush();
    assertEquals(1, flushes[0]);
    assertThrows(IllegalArgumentException.class, () -> new PacedBlockSink(inner, 0));
  }
}
