package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackgroundCreditsTest {
  @Test
  void boundsOutstandingRequests() {
    BackgroundCredits c = new BackgroundCredits(2);
    assertTrue(c.tryAcquire());
    assertTrue(c.tryAcquire());
    assertFalse(c.tryAcquire());
    assertEquals(2, c.outstanding());
    c.release();
    assertEquals(1, c.outstanding());
    assertTrue(c.tryAcquire());
  }

  @Test
  void releaseWithoutAcquireIsABug() {
    BackgroundCredits c = new BackgroundCredits(1);
    IllegalStateException e = assertThrows(IllegalStateException.class, c::release);
    assertTrue(e.getMessage().contains("counted twice"));
    assertThrows(IllegalArgumentException.class, () -> new BackgroundCredits(0));
  }
}
