package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@link DirtyBlocks} and {@link BlockLocks}. */
class BlockTrackingTest {

  @Test
  void marksStayUntilEachBlockIsCopied() {
    DirtyBlocks d = new DirtyBlocks(10);
    d.mark(2, 4);
    d.mark(8, 8);
    assertArrayEquals(new long[] {2, 3, 4, 8}, d.snapshot());
    d.clear(3);
    assertEquals(3, d.count());
    assertFalse(d.isDirty(3));
    d.mark(3, 3); // written again after the copy read it
    assertTrue(d.isDirty(3));
    assertEquals(5, d.marksTotal());
    assertThrows(IllegalArgumentException.class, () -> d.mark(9, 10));
    assertThrows(IllegalArgumentException.class, () -> d.clear(-1));
  }

  @Test
  void anOverlappingRangeWaitsUntilReleased() throws Exception {
    BlockLocks locks = new BlockLocks();
    locks.acquire(4, 7);
    AtomicBoolean got = new AtomicBoolean();
    CountDownLatch done = new CountDownLatch(1);
    Thread t = new Thread(() -> {
      try {
        locks.acquire(7, 9);
        got.set(true);
        locks.release(7, 9);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      done.countDown();
    });
    t.start();
    locks.acquire(0, 3); // disjoint: no wait
    locks.release(0, 3);
    assertFalse(done.await(100, TimeUnit.MILLISECONDS));
    assertFalse(got.get(), "block 7 is held");
    locks.release(4, 7);
    assertTrue(done.await(10, TimeUnit.SECONDS));
    assertTrue(got.get());
    assertEquals(0, locks.heldCount());
  }

  @Test
  void releasingWhatIsNotHeldIsCaught() throws Exception {
    BlockLocks locks = new BlockLocks();
    locks.acquire(1, 1);
    assertThrows(IllegalStateException.class, () -> locks.release(1, 2));
    assertThrows(IllegalArgumentException.class, () -> locks.acquire(0, BlockLocks.RANGE_BLOCKS_MAX));
  }
}
