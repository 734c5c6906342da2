package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TransferProgressTest {
  static final long SECOND = 1_000_000_000L;
  static final int BLOCK = 64 * 1024;

  @Test
  void countsBytesPerKind() {
    TransferProgress p = new TransferProgress(100, BLOCK);
    p.sent(TransferProgress.RAW, BLOCK + 16, BLOCK, 0);
    p.sent(TransferProgress.LZ4, 1000, BLOCK, 1);
    p.sent(TransferProgress.REF, 48, BLOCK, 2);
    p.sent(TransferProgress.REF, 48, BLOCK, 3);
    p.sent(TransferProgress.ZERO, 16, BLOCK, 4);
    assertEquals(BLOCK + 16, p.bytesSent("RAW"));
    assertEquals(1000, p.bytesSent("LZ4"));
    assertEquals(96, p.bytesSent("REF"));
    assertEquals(2, p.blocksSent("REF"));
    assertEquals(16, p.bytesSent("ZERO"));
    assertEquals(BLOCK + 16 + 1000 + 96 + 16, p.wireBytes());
    assertEquals(5L * BLOCK, p.logicalBytes());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.bytesSent("GZIP"));
    assertEquals("block kind must be one of ZERO, REF, LZ4, RAW, got GZIP", e.getMessage());
  }

  @Test
  void percentOfBlocksPresent() {
    TransferProgress p = new TransferProgress(200, BLOCK);
    assertEquals(0.0, p.percent());
    p.present(50);
    assertEquals(25.0, p.percent());
    p.present(200);
    assertEquals(100.0, p.percent());
    assertEquals(100.0, new TransferProgress(0, BLOCK).percent());
    assertThrows(IllegalArgumentException.class, () -> p.present(201));
  }

  @Test
  void steadyRateAndEta() {
    long blocks = 100_000;
    TransferProgress p = new TransferProgress(blocks, BLOCK);
    // 100 blocks a second for 60 s, compressed to half on the wire, one every 10 ms.
    long t = 0;
    for (int i = 0; i < 6000; i++) {
      t = i * (SECOND / 100);
      p.sent(TransferProgress.LZ4, BLOCK / 2, BLOCK, t);
    }
    p.present(6000);
    assertEquals(100.0 * BLOCK / 2, p.rateBytesPerSecond(t), 100.0 * BLOCK / 2 * 0.01);
    assertEquals(100.0 * BLOCK, p.logicalRateBytesPerSecond(t), 100.0 * BLOCK * 0.01);
    // 94,000 blocks left at 100 blocks/s: 940 s.
    Duration eta = p.eta(t).orElseThrow();
    assertEquals(940.0, eta.toMillis() / 1000.0, 940.0 * 0.01);
  }

  @Test
  void rateDecaysWhenNothingIsSent() {
    TransferProgress p = new TransferProgress(1000, BLOCK, Duration.ofSeconds(5));
    for (int i = 0; i <= 1000; i++) {
      p.sent(TransferProgress.RAW, BLOCK, BLOCK, i * (SECOND / 100));
    }
    long last = 10 * SECOND;
    double rate = p.rateBytesPerSecond(last);
    assertEquals(rate * Math.exp(-1), p.rateBytesPerSecond(last + 5 * SECOND), rate * 1e-9);
    // A query from before the last send sees the rate as of that send.
    assertEquals(rate, p.rateBytesPerSecond(last - SECOND));
    assertEquals(Optional.empty(), p.eta(last + 1000 * SECOND), "nothing moving: no ETA");
  }

  @Test
  void etaBeforeAnythingMovesAndWhenComplete() {
    TransferProgress p = new TransferProgress(10, BLOCK);
    assertEquals(Optional.empty(), p.eta(0));
    p.present(10);
    assertEquals(Optional.of(Duration.ZERO), p.eta(0));
  }

  @Test
  void timeMustNotGoBackwards() {
    TransferProgress p = new TransferProgress(10, BLOCK);
    p.sent("RAW", 1, 1, 100);
    assertThrows(IllegalArgumentException.class, () -> p.sent("RAW", 1, 1, 99));
    assertThrows(IllegalArgumentException.class, () -> p.sent("RAW", -1, 1, 200));
  }

  @Test
  void snapshotHasEveryFigure() {
    TransferProgress p = new TransferProgress(10, BLOCK);
    p.present(5);
    p.sent("REF", 48, BLOCK, 0);
    p.sent("RAW", BLOCK, BLOCK, SECOND);
    Map<String, Object> s = p.snapshot(SECOND);
    assertEquals(50.0, s.get("percent"));
    assertEquals(48L, s.get("refBytes"));
    assertEquals(1L, s.get("rawBlocks"));
    assertEquals(0L, s.get("lz4Bytes"));
    assertEquals((long) BLOCK + 48, s.get("wireBytes"));
    assertTrue(s.containsKey("rateBytesPerSecond"));
    assertTrue(s.containsKey("etaSeconds"));
  }
}
