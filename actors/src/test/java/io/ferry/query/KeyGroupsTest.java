package io.ferry.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyGroupsTest {

  @Test
  void theRangesOfEveryParallelismCoverEachGroupOnceAndAgreeWithOwner() {
    for (int p = 1; p <= KeyGroups.PARALLELISM_MAX; p++) {
      int next = 0;
      for (int i = 0; i < p; i++) {
        KeyGroups.Range r = KeyGroups.range(i, p);
        assertEquals(next, r.first(), "parallelism " + p + " instance " + i);
        assertTrue(r.size() >= KeyGroups.COUNT / p && r.size() <= KeyGroups.COUNT / p + 1, "uneven " + r + " at " + p);
        for (int g = r.first(); g < r.end(); g++) {
          assertEquals(i, KeyGroups.owner(g, p), "group " + g + " at parallelism " + p);
        }
        next = r.end();
      }
      assertEquals(KeyGroups.COUNT, next);
      assertTrue(KeyGroups.range(p, p).isEmpty(), "an instance past the parallelism is idle");
    }
  }

  @Test
  void movesListExactlyTheGroupsThatChangeOwner() {
    assertEquals(0, KeyGroups.moves(3, 3).size());
    // 2 -> 4: instance 0 keeps [0,32), gives [32,64) to 1; instance 1 gives [64,96) to 2, [96,128) to 3.
    assertEquals(96, KeyGroups.moves(2, 4).size());
    for (KeyGroups.Move m : KeyGroups.moves(2, 4)) {
      assertEquals(KeyGroups.owner(m.group(), 2), m.from());
      assertEquals(KeyGroups.owner(m.group(), 4), m.to());
    }
  }

  @Test
  void keysSpreadOverGroupsAndTextAndValueAgree() {
    Map<Integer, Integer> perInstance = new HashMap<>();
    for (int k = 0; k < 10_000; k++) {
      perInstance.merge(KeyGroups.owner(KeyGroups.group("k" + k), 4), 1, Integer::sum);
      assertEquals(KeyGroups.group(Long.toString(k)), KeyGroups.groupOf((long) k));
    }
    perInstance.values().forEach(n -> assertTrue(n > 2_000 && n < 3_000, "skewed spread " + perInstance));
    assertEquals(0, KeyGroups.groupOf(null));
  }

  @Test
  void limitsAreEnforced() {
    assertThrows(IllegalArgumentException.class, () -> KeyGroups.range(0, 0));
    assertThrows(IllegalArgumentException.class, () -> KeyGroups.range(0, KeyGroups.PARALLELISM_MAX + 1));
    assertThrows(IllegalArgumentException.class, () -> KeyGroups.owner(KeyGroups.COUNT, 2));
    assertThrows(IllegalArgumentException.class, () -> new KeyGroups.Range(3, 2));
    assertEquals(new NodeId("w.3"), KeyGroups.instanceId(new NodeId("w"), 3));
  }
}
