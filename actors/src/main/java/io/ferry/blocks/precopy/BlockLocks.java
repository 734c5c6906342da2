package io.ferry.blocks.precopy;

import java.util.HashSet;
import java.util.Set;

/**
 * Ranges of blocks held while their bytes travel to the target, so that two copies of one block
 * (a pass's and a mirrored write's) reach the target in the order they were read from the source.
 * A range is taken whole or not at all, so two holders never wait for each other (no deadlock).
 */
public final class BlockLocks {

  /** Blocks one range may hold: ranges are a request's worth, never a volume's. */
  public static final int RANGE_BLOCKS_MAX = 4096;

  private final Set<Long> held = new HashSet<>();

  /** Waits until none of {@code first..last} is held, then holds them all. */
  public synchronized void acquire(long first, long last) throws InterruptedException {
    if (first < 0 || last < first || last - first + 1 > RANGE_BLOCKS_MAX) {
      throw new IllegalArgumentException("a range of 1.." + RANGE_BLOCKS_MAX + " blocks, got " + first + ".." + last);
    }
    while (anyHeld(first, last)) {
      wait();
    }
    for (long b = first; b <= last; b++) {
      held.add(b);
    }
  }

  public synchronized void release(long first, long last) {
    for (long b = first; b <= last; b++) {
      if (!held.remove(b)) {
        throw new IllegalStateException("block " + b + " released but not held");
      }
    }
    notifyAll();
  }

  public synchronized int heldCount() {
    return held.size();
  }

  private boolean anyHeld(long first, long last) {
    for (long b = first; b <= last; b++) {
      if (held.contains(b)) {
        return true;
      }
    }
    return false;
  }
}
