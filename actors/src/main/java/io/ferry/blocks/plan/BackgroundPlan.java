package io.ferry.blocks.plan;

import org.agrona.collections.Hashing;
import org.agrona.collections.Long2LongHashMap;

/**
 * Which blocks of one volume the target still lacks, and in what order the backend's background copy sends them. Owned
 * by one actor (the backend); not thread-safe.
 *
 * <p>Order: (1) trace continuations from {@link #predicted}, in the given order; (2) blocks hot across volumes; (3)
 * neighbours of on-demand reads, the latest read's first, nearest first, forward before backward; (4) the rest in
 * ascending order. Classes 1 to 3 are bounded queues of hints: a hint that falls off is still sent by class 4, because
 * every block below the ascending cursor is present or in flight (requeue moves the cursor back).
 *
 * <p>A block handed out by {@link #next} or read on demand is in flight until {@link #markPresent} or {@link
 * #requeue}: a lost send must be requeued, or the plan never completes.
 */
public final class BackgroundPlan {
  public static final int NEIGHBOUR_RADIUS_MAX = 1024;
  /** Trace continuations kept; newer predictions push out older ones, which the workload has likely passed. */
  public static final int PREDICTED_MAX = 1 << 16;
  /** Hot blocks kept; later ones are refused (they still come in ascending order). */
  public static final int HOT_MAX = 1 << 20;
  /** Neighbour blocks kept; a new read's neighbours push out the oldest read's. */
  public static final int NEIGHBOURS_MAX = 1 << 14;

  private static final int TRACE = 1;
  private static final int HOT = 2;
  private static final int NEIGHBOUR = 3;
  private static final int ASCENDING = 4;
  /** In flight because the frontend fetched it on demand, not from this plan. */
  private static final int ON_DEMAND = 0;
  /** What {@link #inFlight} answers for a block that is not in flight. */
  private static final long NOT_IN_FLIGHT = -1;

  private final long blockCount;
  private final int neighbourRadius;
  /** Present at the target or zero at the source: never offered again. */
  private final LongBitSet done;
  /** Blocks in flight and the class each was handed out from (for {@link #requeue}). */
  private final Long2LongHashMap inFlight = new Long2LongHashMap(1024, Hashing.DEFAULT_LOAD_FACTOR, NOT_IN_FLIGHT);
  private final LongRing predictedQueue = new LongRing(PREDICTED_MAX);
  private final LongRing hotQueue = new LongRing(HOT_MAX);
  private final LongRing neighbourQueue = new LongRing(NEIGHBOURS_MAX);
  private final long[] neighbourScratch;
  private long doneCount;
  private long zeroCount;
  /** Every block below it is done or in flight. */
  private long cursor;

  public BackgroundPlan(long blockCount, int neighbourRadius) {
    if (blockCount < 0 || blockCount > Geometry.BLOCK_COUNT_MAX) {
      throw new IllegalArgumentException(
          "block count must be between 0 and " + Geometry.BLOCK_COUNT_MAX + ", got " + blockCount);
    }
    if (neighbourRadius < 0 || neighbourRadius > NEIGHBOUR_RADIUS_MAX) {
      throw new IllegalArgumentException(
          "neighbour radius must be between 0 and " + NEIGHBOUR_RADIUS_MAX + " blocks, got " + neighbourRadius);
    }
    this.blockCount = blockCount;
    this.neighbourRadius = neighbourRadius;
    this.done = new LongBitSet(blockCount);
    this.neighbourScratch = new long[2 * neighbourRadius];
  }

  /** The target has this block (stored, by reference, zero, or written there): never offer it again. */
  public void markPresent(long block) {
    check(block);
    inFlight.remove(block);
    if (done.set(block)) {
      doneCount++;
    }
  }

  /** Zero or unallocated at the source: never sent as data; counts as present. */
  public void markZero(long block) {
    check(block);
    inFlight.remove(block);
    if (done.set(block)) {
      doneCount++;
      zeroCount++;
    }
  }

  public void markHot(long block) {
    check(block);
    if (offerable(block)) {
      hotQueue.offerBack(block);
    }
  }

  /** The frontend fetched {@code block} on demand: it is in flight on the on-demand stream, its neighbours come next. */
  public void onDemandRead(long block) {
    check(block);
    if (!done.get(block) && !inFlight.containsKey(block)) {
      inFlight.put(block, ON_DEMAND);
    }
    int n = 0;
    for (int d = 1; d <= neighbourRadius; d++) {
      if (block + d < blockCount) {
        neighbourScratch[n++] = block + d;
      }
      if (block - d >= 0) {
        neighbourScratch[n++] = block - d;
      }
    }
    // Pushed to the front in reverse, so the nearest forward neighbour of the latest read comes out first.
    for (int i = n - 1; i >= 0; i--) {
      if (offerable(neighbourScratch[i])) {
        neighbourQueue.pushFrontDropBack(neighbourScratch[i]);
      }
    }
  }

  /** A trace continuation from {@link TracePredictor}, sent before every other background block, in this order. */
  public void predicted(long[] blocks) {
    for (long b : blocks) {
      check(b);
    }
    for (long b : blocks) {
      if (offerable(b)) {
        predictedQueue.pushBackDropFront(b);
      }
    }
  }

  /**
   * A block sent was lost or arrived corrupt: offer it again, at the front of the class it was handed out from. A block
   * that was in flight on demand goes to the front of the background order. A present block stays present.
   */
  public void requeue(long block) {
    check(block);
    if (done.get(block)) {
      return;
    }
    int cls = (int) inFlight.remove(block);
    switch (cls) {
      case ON_DEMAND, TRACE -> predictedQueue.pushFrontDropBack(block);
      case HOT -> hotQueue.pushFrontDropBack(block);
      case NEIGHBOUR -> neighbourQueue.pushFrontDropBack(block);
      default -> {
        // Handed out in ascending order, or never handed out: the cursor below brings it back first in its class.
      }
    }
    cursor = Math.min(cursor, block);
  }

  /**
   * Writes up to {@code max} next blocks to send into {@code out}, in priority order, and marks them in flight. Returns
   * how many; fewer than {@code max} only when every block lacking at the target is already in flight.
   */
  public int next(long[] out, int max) {
    if (max < 0 || max > out.length) {
      throw new IllegalArgumentException("max must be between 0 and out.length " + out.length + ", got " + max);
    }
    int n = drain(predictedQueue, TRACE, out, 0, max);
    n = drain(hotQueue, HOT, out, n, max);
    n = drain(neighbourQueue, NEIGHBOUR, out, n, max);
    while (n < max) {
      long b = done.nextClear(cursor);
      if (b >= blockCount) {
        cursor = blockCount;
        break;
      }
      cursor = b + 1;
      if (!inFlight.containsKey(b)) {
        inFlight.put(b, ASCENDING);
        out[n++] = b;
      }
    }
    return n;
  }

  private int drain(LongRing queue, int cls, long[] out, int n, int max) {
    while (n < max && !queue.isEmpty()) {
      long b = queue.pollFront();
      if (offerable(b)) {
        inFlight.put(b, cls);
        out[n++] = b;
      }
    }
    return n;
  }

  private boolean offerable(long block) {
    return !done.get(block) && !inFlight.containsKey(block);
  }

  public boolean complete() {
    return doneCount == blockCount;
  }

  public long remaining() {
    return blockCount - doneCount;
  }

  /** Blocks present at the target, zero blocks included. */
  public long presentCount() {
    return doneCount;
  }

  public long zeroCount() {
    return zeroCount;
  }

  public long blockCount() {
    return blockCount;
  }

  public int inFlightCount() {
    return inFlight.size();
  }

  public boolean isPresent(long block) {
    check(block);
    return done.get(block);
  }

  public boolean isInFlight(long block) {
    check(block);
    return inFlight.containsKey(block);
  }

  private void check(long block) {
    if (block < 0 || block >= blockCount) {
      throw new IllegalArgumentException(
          "block index must be between 0 and " + (blockCount - 1) + " for this volume, got " + block);
    }
  }
}
