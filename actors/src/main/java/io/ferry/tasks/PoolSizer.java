package io.ferry.tasks;

import java.util.ArrayDeque;

/**
 * Sizes one pool within its bounds: grows with the tasks it could run (queued plus running),
 * shrinks step by step when they drop, and halves toward its minimum while too many of its recent
 * attempts fail (a failing pool is shrunk and reported, so its tasks go to other pools sooner).
 */
public final class PoolSizer {
  public static final int WINDOW_MAX = 10_000;

  /** One sizing decision; {@code failing} is what the pool reports. */
  public record Resize(int from, int to, boolean failing, String reason) {}

  private final int slotsMin;
  private final int slotsMax;
  private final int window;
  private final double failingRatio;
  private final ArrayDeque<Boolean> recent = new ArrayDeque<>();
  private int failuresInWindow;
  private int slots;
  private boolean failing;

  private PoolSizer(int slotsMin, int slotsMax, int window, double failingRatio) {
    this.slotsMin = slotsMin;
    this.slotsMax = slotsMax;
    this.window = window;
    this.failingRatio = failingRatio;
    this.slots = Math.max(1, slotsMin);
  }

  /**
   * @param window how many recent attempts the failure ratio is taken over
   * @param failingRatio the share of failed attempts (over at least half a window) at which the pool counts as failing
   */
  public static PoolSizer create(int slotsMin, int slotsMax, int window, double failingRatio) {
    if (slotsMin < 0 || slotsMax < 1 || slotsMin > slotsMax || slotsMax > PoolSpec.SLOTS_MAX) {
      throw new IllegalArgumentException("pool slots must satisfy 0 <= min <= max, 1 <= max <= " + PoolSpec.SLOTS_MAX + ", got min " + slotsMin + " max " + slotsMax);
    }
    if (window < 2 || window > WINDOW_MAX) {
      throw new IllegalArgumentException("the failure window must be 2 to " + WINDOW_MAX + " attempts, got " + window);
    }
    if (!(failingRatio > 0 && failingRatio <= 1)) {
      throw new IllegalArgumentException("the failing ratio must be in (0, 1], got " + failingRatio);
    }
    return new PoolSizer(slotsMin, slotsMax, window, failingRatio);
  }

  public static PoolSizer create(PoolSpec pool) {
    return create(pool.slotsMin(), pool.slotsMax(), 20, 0.5);
  }

  public int slots() {
    return slots;
  }

  public boolean failing() {
    return failing;
  }

  /** Records an attempt's end; a lost lease counts as a failure. */
  public void onOutcome(boolean succeeded) {
    if (recent.size() == window && !recent.removeFirst()) {
      failuresInWindow--;
    }
    recent.addLast(succeeded);
    if (!succeeded) {
      failuresInWindow++;
    }
  }

  /** Resizes for {@code queued} tasks this pool could lease and {@code running} it holds. */
  public Resize resize(int queued, int running) {
    int from = slots;
    if (recent.size() >= window / 2 && failuresInWindow >= failingRatio * recent.size()) {
      failing = true;
      slots = Math.max(Math.max(1, slotsMin), slots / 2);
      return new Resize(from, slots, true, failuresInWindow + " of the last " + recent.size() + " attempts failed");
    }
    failing = false;
    int wanted = (int) Math.max(Math.max(1, slotsMin), Math.min(slotsMax, (long) queued + running));
    if (wanted > slots) {
      slots = wanted;
      return new Resize(from, slots, false, queued + " queued, " + running + " running");
    }
    if (wanted < slots) {
      // Shrink halfway at a time: a queue that empties for a moment should not drop every slot.
      slots -= (slots - wanted + 1) / 2;
      return new Resize(from, slots, false, "only " + queued + " queued, " + running + " running");
    }
    return new Resize(from, slots, false, "steady");
  }
}
