package io.ferry.transport.shaping;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The UDP emulator's delay, serialization, tail drop and loss, exactly, on a made-up clock. */
class LinkShaperTest {

  private static final long MS = 1_000_000L;

  @Test
  void delaysBothWaysAndOnlyTheForwardLinkSerializes() {
    LinkShaper shaper = new LinkShaper(1);
    LinkProfile p = new LinkProfile(Duration.ofMillis(20), 8_000_000, 0.0, 0, 1);
    // 8 Mbit/s is 1000 bytes per ms: a 1000-byte datagram arriving at 5 ms is on the wire until 6 ms.
    assertEquals(6 * MS + 20 * MS, shaper.deliverAtNanos(p, 1000, true, 5 * MS));
    assertEquals(5 * MS + 20 * MS, shaper.deliverAtNanos(p, 1000, false, 5 * MS), "replies are not rate-limited");
    LinkProfile unlimited = new LinkProfile(Duration.ofMillis(20), 0, 0.0, 0, 1);
    assertEquals(7 * MS + 20 * MS, new LinkShaper(1).deliverAtNanos(unlimited, 1000, true, 7 * MS));
  }

  @Test
  void aBurstLeavesAtTheBandwidthAndTheQueueTailDrops() {
    LinkShaper shaper = new LinkShaper(1);
    LinkProfile p = new LinkProfile(Duration.ZERO, 8_000_000, 0.0, 0, 1);
    for (int i = 0; i < 100; i++) {
      assertEquals((i + 1) * MS, shaper.deliverAtNanos(p, 1000, true, 0), "datagram " + i);
    }
    // A queue of 50 datagrams: of a burst of 100 the first 50 are taken, the rest dropped.
    LinkShaper queued = new LinkShaper(1);
    LinkProfile q = new LinkProfile(Duration.ZERO, 8_000_000, 0.0, 50_000, 1);
    int taken = 0;
    for (int i = 0; i < 100; i++) {
      if (queued.deliverAtNanos(q, 1000, true, 0) != LinkShaper.DROPPED) {
        taken++;
      }
    }
    assertEquals(50, taken);
    // 10 ms later 10 have left: room for exactly 10 more.
    int later = 0;
    for (int i = 0; i < 20; i++) {
      if (queued.deliverAtNanos(q, 1000, true, 10 * MS) != LinkShaper.DROPPED) {
        later++;
      }
    }
    assertEquals(10, later);
    // An idle link starts afresh: nothing waits in front of a datagram after the queue drained.
    assertEquals(500 * MS + MS, queued.deliverAtNanos(q, 1000, true, 500 * MS));
  }

  @Test
  void lossIsSeededAndAPartitionDropsEverything() {
    LinkProfile lossy = new LinkProfile(Duration.ZERO, 0, 0.3, 0, 42);
    String a = pattern(new LinkShaper(42), lossy);
    assertEquals(a, pattern(new LinkShaper(42), lossy), "same seed, same losses");
    assertNotEquals(a, pattern(new LinkShaper(43), lossy), "another seed, other losses");
    long dropped = a.chars().filter(c -> c == '.').count();
    assertEquals(0.3, dropped / (double) a.length(), 0.05, "loss rate over " + a.length() + " draws");
    LinkShaper shaper = new LinkShaper(7);
    LinkProfile partition = LinkProfile.unshaped().withLossRate(1.0);
    for (int i = 0; i < 100; i++) {
      assertEquals(LinkShaper.DROPPED, shaper.deliverAtNanos(partition, 10, i % 2 == 0, i));
    }
  }

  private static String pattern(LinkShaper shaper, LinkProfile p) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 2000; i++) {
      b.append(shaper.deliverAtNanos(p, 10, true, i) == LinkShaper.DROPPED ? '.' : 'x');
    }
    return b.toString();
  }
}
