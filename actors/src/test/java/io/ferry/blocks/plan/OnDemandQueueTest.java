package io.ferry.blocks.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.plan.OnDemandQueue.Entry;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SeedExtension.class)
class OnDemandQueueTest {
  @Test
  void servesRequestsInArrivalOrder() {
    OnDemandQueue q = new OnDemandQueue(10);
    assertTrue(q.offer(1, 500));
    assertTrue(q.offer(2, 3));
    assertTrue(q.offer(3, 900));
    assertEquals(new Entry(1, 500), q.poll());
    assertEquals(new Entry(2, 3), q.poll());
    assertEquals(new Entry(3, 900), q.poll());
    assertTrue(q.isEmpty());
  }

  @Test
  void anEarlierRequestArrivingLateStillGoesFirst() {
    OnDemandQueue q = new OnDemandQueue(10);
    q.offer(5, 50);
    q.offer(6, 60);
    q.offer(4, 40); // a retry of an earlier request
    assertEquals(40, q.poll().block());
    assertEquals(50, q.poll().block());
  }

  @Test
  void duplicatesOfAQueuedBlockMerge() {
    OnDemandQueue q = new OnDemandQueue(2);
    q.offer(1, 7);
    q.offer(2, 8);
    assertTrue(q.offer(3, 7), "merging needs no room");
    assertEquals(2, q.size());
    q.offer(0, 8); // merged, and keeps the earlier id
    assertEquals(new Entry(0, 8), q.poll());
    assertEquals(new Entry(1, 7), q.poll());
    assertTrue(q.isEmpty());
    assertTrue(q.offer(9, 7), "a served block can be requested again");
    assertEquals(new Entry(9, 7), q.poll());
  }

  @Test
  void isBounded() {
    OnDemandQueue q = new OnDemandQueue(2);
    assertTrue(q.offer(1, 1));
    assertTrue(q.offer(2, 2));
    assertFalse(q.offer(3, 3));
    assertFalse(q.contains(3));
    assertEquals(2, q.size());
    q.poll();
    assertTrue(q.offer(3, 3));
    assertThrows(IllegalArgumentException.class, () -> new OnDemandQueue(0));
    assertThrows(IllegalStateException.class, () -> new OnDemandQueue(1).poll());
  }

  @Test
  void matchesAReferenceModelOnRandomTraffic(Seed testSeed) {
    long seed = testSeed.value();
    Random rnd = new Random(seed);
    OnDemandQueue q = new OnDemandQueue(32);
    Map<Long, Long> model = new HashMap<>(); // block -> earliest request id
    long nextId = 0;
    for (int step = 0; step < 100_000; step++) {
      if (rnd.nextInt(3) > 0) {
        long block = rnd.nextInt(64);
        long id = rnd.nextInt(10) == 0 ? Math.max(0, nextId - rnd.nextInt(50)) : nextId++;
        boolean accepted = q.offer(id, block);
        boolean expected = model.containsKey(block) || model.size() < 32;
        assertEquals(expected, accepted, "seed " + seed + " step " + step);
        if (accepted) {
          model.merge(block, id, Math::min);
        }
      } else if (!model.isEmpty()) {
        List<Map.Entry<Long, Long>> entries = new ArrayList<>(model.entrySet());
        long minId = entries.stream().map(Map.Entry::getValue).min(Comparator.naturalOrder()).orElseThrow();
        Entry e = q.poll();
        assertEquals(minId, e.requestId(), "seed " + seed + " step " + step);
        assertEquals(minId, model.remove(e.block()), "seed " + seed + " step " + step);
      }
      assertEquals(model.size(), q.size());
    }
  }
}
