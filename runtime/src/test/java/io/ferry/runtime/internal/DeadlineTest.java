package io.ferry.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DeadlineTest {

  @Test
  void asksInSequenceShareOneDeadline() {
    AtomicLong now = new AtomicLong(1_000);
    Deadline d = new Deadline(now::get, Duration.ofSeconds(3));
    assertEquals(Duration.ofSeconds(3), d.remaining());
    now.addAndGet(Duration.ofMillis(2_500).toNanos());
    // The second ask gets what the first left, not a fresh ask timeout.
    assertEquals(Duration.ofMillis(500), d.remaining());
    now.addAndGet(Duration.ofSeconds(1).toNanos());
    assertEquals(Deadline.REMAINING_MIN, d.remaining());
  }

  @Test
  void aDeadlineIsInTheFuture() {
    assertThrows(IllegalArgumentException.class, () -> Deadline.in(Duration.ZERO));
  }
}
