package io.ferry.blocks.plan;

/**
 * A bounded double-ended queue of {@code long}s that grows on demand up to {@code capacityMax}. When full, the caller
 * chooses which end gives way, since for priority hints an old hint is worth less than a new one (or the reverse).
 * Not Agrona's {@code LongArrayQueue}: that is FIFO only, and the plan pushes requeued blocks and each read's neighbours
 * to the front, in O(1), of queues up to a million long.
 */
final class LongRing {
  private final int capacityMax;
  private long[] items;
  private int head;
  private int size;

  LongRing(int capacityMax) {
    if (capacityMax < 1) {
      throw new IllegalArgumentException("ring capacity must be >= 1, got " + capacityMax);
    }
    this.capacityMax = capacityMax;
    this.items = new long[Math.min(16, capacityMax)];
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Appends {@code v}; when full, drops the oldest item at the front to make room. */
  void pushBackDropFront(long v) {
    if (!ensureRoom()) {
      pollFront();
    }
    items[(head + size) % items.length] = v;
    size++;
  }

  /** Appends {@code v}; when full, {@code v} is rejected and false returned. */
  boolean offerBack(long v) {
    if (!ensureRoom()) {
      return false;
    }
    items[(head + size) % items.length] = v;
    size++;
    return true;
  }

  /** Prepends {@code v}; when full, drops the item at the back to make room. */
  void pushFrontDropBack(long v) {
    if (!ensureRoom()) {
      size--;
    }
    head = (head - 1 + items.length) % items.length;
    items[head] = v;
    size++;
  }

  long pollFront() {
    if (size == 0) {
      throw new IllegalStateException("poll from an empty ring");
    }
    long v = items[head];
    head = (head + 1) % items.length;
    size--;
    return v;
  }

  /** Whether there is room for one more item, growing the backing array if it may. */
  private boolean ensureRoom() {
    if (size < items.length) {
      return true;
    }
    if (items.length == capacityMax) {
      return false;
    }
    long[] grown = new long[(int) Math.min((long) items.length * 2, capacityMax)];
    for (int i = 0; i < size; i++) {
      grown[i] = items[(head + i) % items.length];
    }
    items = grown;
    head = 0;
    return true;
  }
}
