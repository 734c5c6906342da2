package io.ferry.blocks.plan;

import org.agrona.collections.Hashing;
import org.agrona.collections.Long2LongHashMap;

/**
 * The backend's bounded queue of on-demand block requests, served earliest request first. Ordered by request id (the
 * frontend's request sequence), so a retried early request that arrives late still goes first; a request for a block
 * already queued merges into the queued one, which keeps the earlier id.
 */
public final class OnDemandQueue {
  /** One queued request; {@code requestId} is the earliest of the merged requests for {@code block}. */
  public record Entry(long requestId, long block) {}

  private static final long NO_SLOT = -1;

  private final int capacityMax;
  // A binary min-heap on (requestId, arrival) in parallel arrays, with each block's heap slot for merging.
  private final long[] ids;
  private final long[] arrivals;
  private final long[] blocks;
  /** Heap slot of each queued block; {@link #NO_SLOT} for a block not queued. */
  private final Long2LongHashMap slotOfBlock;
  private int size;
  private long arrivalSeq;

  public OnDemandQueue(int capacityMax) {
    if (capacityMax < 1) {
      throw new IllegalArgumentException("on-demand queue capacity must be >= 1 requests, got " + capacityMax);
    }
    this.capacityMax = capacityMax;
    this.ids = new long[capacityMax];
    this.arrivals = new long[capacityMax];
    this.blocks = new long[capacityMax];
    this.slotOfBlock = new Long2LongHashMap(capacityMax, Hashing.DEFAULT_LOAD_FACTOR, NO_SLOT);
  }

  /**
   * Queues a request, or merges it into a queued request for the same block. Returns false, queueing nothing, when the
   * queue is full and the block is not already queued: the caller pushes back on the frontend.
   */
  public boolean offer(long requestId, long block) {
    if (block < 0) {
      throw new IllegalArgumentException("block index must be >= 0, got " + block);
    }
    int slot = (int) slotOfBlock.get(block);
    if (slot != NO_SLOT) {
      if (requestId < ids[slot]) {
        ids[slot] = requestId;
        siftUp(slot);
      }
      return true;
    }
    if (size == capacityMax) {
      return false;
    }
    ids[size] = requestId;
    arrivals[size] = arrivalSeq++;
    blocks[size] = block;
    slotOfBlock.put(block, size);
    siftUp(size++);
    return true;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  public int size() {
    return size;
  }

  public int capacityMax() {
    return capacityMax;
  }

  /** The earliest request, removed; throws when empty (check {@link #isEmpty} first). */
  public Entry poll() {
    if (size == 0) {
      throw new IllegalStateException("poll from an empty on-demand queue");
    }
    Entry head = new Entry(ids[0], blocks[0]);
    slotOfBlock.remove(blocks[0]);
    size--;
    if (size > 0) {
      move(size, 0);
      siftDown(0);
    }
    return head;
  }

  public boolean contains(long block) {
    return slotOfBlock.containsKey(block);
  }

  private boolean before(int a, int b) {
    return ids[a] < ids[b] || (ids[a] == ids[b] && arrivals[a] < arrivals[b]);
  }

  private void siftUp(int i) {
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (!before(i, parent)) {
        return;
      }
      swap(i, parent);
      i = parent;
    }
  }

  private void siftDown(int i) {
    while (true) {
      int l = 2 * i + 1;
      if (l >= size) {
        return;
      }
      int min = l + 1 < size && before(l + 1, l) ? l + 1 : l;
      if (!before(min, i)) {
        return;
      }
      swap(i, min);
      i = min;
    }
  }

  private void swap(int a, int b) {
    long id = ids[a];
    long arrival = arrivals[a];
    long block = blocks[a];
    move(b, a);
    ids[b] = id;
    arrivals[b] = arrival;
    blocks[b] = block;
    slotOfBlock.put(block, b);
  }

  private void move(int from, int to) {
    ids[to] = ids[from];
    arrivals[to] = arrivals[from];
    blocks[to] = blocks[from];
    slotOfBlock.put(blocks[to], to);
  }
}
