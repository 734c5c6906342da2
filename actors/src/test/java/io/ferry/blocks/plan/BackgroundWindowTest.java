package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackgroundWindowTest {
  private static final int BLOCK = 64 * 1024;

  /** Sends while open, each frame of {@code wire} bytes; returns how many went. */
  private static int fill(BackgroundWindow w, int wire) {
    int n = 0;
    while (w.open()) {
      w.handOut();
      w.sent(wire);
      n++;
    }
    return n;
  }

  @Test
  void fullSizeFramesGetAsManyAsTheCreditsInBlocks() {
    BackgroundWindow w = new BackgroundWindow(64, 4L * BLOCK, BLOCK);
    // A RAW frame is the block plus its header: four go, as four block credits allowed before.
    assertEquals(4, fill(w, BLOCK + 60));
    w.credited(1);
    assertEquals(1, fill(w, BLOCK + 60));
  }

  @Test
  void compressedFramesFillTheBytesNotTheBlockCount() {
    BackgroundWindow w = new BackgroundWindow(64, 4L * BLOCK, BLOCK);
    // 6 KiB LZ4 frames: the bytes allow 43, where counting blocks would have stopped at 4.
    assertEquals(43, fill(w, 6 * 1024));
    assertTrue(w.bytesOnTheWay() >= 4L * BLOCK && w.bytesOnTheWay() < 4L * BLOCK + 6 * 1024);
    // Credits free the oldest frames first, in the order they were sent.
    w.credited(2);
    assertEquals(41, w.framesOnTheWay());
    assertEquals(2, fill(w, 6 * 1024));
  }

  @Test
  void tinyFramesStopAtTheFrameLimit() {
    BackgroundWindow w = new BackgroundWindow(64, 4L * BLOCK, BLOCK);
    assertEquals(64, fill(w, 80)); // REF frames: the frame count bounds what a crash can leave on the way
    assertEquals(64 * 80, w.bytesOnTheWay());
  }

  @Test
  void aHandedOutBlockCountsAsFullUntilSentAndNotSentGivesItBack() {
    BackgroundWindow w = new BackgroundWindow(64, 2L * BLOCK, BLOCK);
    w.handOut();
    w.handOut();
    assertFalse(w.open());
    w.notSent();
    assertTrue(w.open());
    assertEquals(BLOCK, w.bytesOnTheWay());
    w.sent(100);
    assertEquals(100, w.bytesOnTheWay());
    assertEquals(1, w.framesOnTheWay());
  }

  @Test
  void resetForgetsTheEarlierAttachmentAndExtraCreditsAreHarmless() {
    BackgroundWindow w = new BackgroundWindow(8, 4L * BLOCK, BLOCK);
    fill(w, 1000);
    w.reset();
    assertEquals(0, w.bytesOnTheWay());
    w.credited(5); // a late credit of the earlier attachment, if one got through
    assertEquals(0, w.framesOnTheWay());
    assertEquals(8, fill(w, 1000));
  }

  @Test
  void reportingASendWithoutAHandOutIsCaught() {
    BackgroundWindow w = new BackgroundWindow(8, 4L * BLOCK, BLOCK);
    assertThrows(IllegalStateException.class, () -> w.sent(100));
    assertThrows(IllegalArgumentException.class, () -> new BackgroundWindow(0, 1, 1));
  }
}
