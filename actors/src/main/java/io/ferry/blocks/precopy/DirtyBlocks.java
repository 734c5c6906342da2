package io.ferry.blocks.precopy;

import java.util.BitSet;

/**
 * The source's blocks written since they were last copied to the target. A write marks its blocks
 * after its bytes are in the source file, and a copy clears a block's mark before it reads the
 * block: whatever order the two run in, a block whose newest bytes the copy may have missed stays
 * marked for the next pass. Thread-safe.
 */
public final class DirtyBlocks {

  private final long blockCount;
  private final BitSet dirty = new BitSet();
  private long marks;

  public DirtyBlocks(long blockCount) {
    if (blockCount < 1 || blockCount > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a volume of 1.." + Integer.MAX_VALUE + " blocks, got " + blockCount);
    }
    this.blockCount = blockCount;
  }

  public long blockCount() {
    return blockCount;
  }

  /** Blocks {@code first..last} (inclusive) now hold bytes the target may lack. */
  public synchronized void mark(long first, long last) {
    check(first, last);
    dirty.set((int) first, (int) last + 1);
    marks += last - first + 1;
  }

  /**
   * Blocks {@code first..last} were cleared for a copy that did not reach the target: marked again
   * (not counted as writes).
   */
  public synchronized void restore(long first, long last) {
    check(first, last);
    dirty.set((int) first, (int) last + 1);
  }

  /**
   * Every block may differ at the target: the source member restarted (the map lived in its
   * memory, so writes since the last copy are unknown) or a pass broke off. The next pass is a
   * full recopy.
   */
  public synchronized void markAll() {
    dirty.set(0, (int) blockCount);
  }

  /** Block {@code block} is about to be read for the target: a write after this marks it again. */
  public synchronized void clear(long block) {
    check(block, block);
    dirty.clear((int) block);
  }

  public synchronized boolean isDirty(long block) {
    check(block, block);
    return dirty.get((int) block);
  }

  /** The change set now: what a pass starting now ships. */
  public synchronized long count() {
    return dirty.cardinality();
  }

  /** The marked blocks, ascending (the pass's change set); the marks stay until each is copied. */
  public synchronized long[] snapshot() {
    return dirty.stream().asLongStream().toArray();
  }

  /** The marked blocks as a copy (for {@link DirtyBlockLog}: which logged marks the target holds). */
  public synchronized BitSet bits() {
    return (BitSet) dirty.clone();
  }

  /** Blocks marked by writes since the volume opened (a block written twice counts twice). */
  public synchronized long marksTotal() {
    return marks;
  }

  private void check(long first, long last) {
    if (first < 0 || last < first || last >= blockCount) {
      throw new IllegalArgumentException("blocks " + first + ".." + last + " outside 0.." + (blockCount - 1));
    }
  }
}
