package io.ferry.blocks.plan;

/**
 * Credits that bound the frontend's outstanding background batch requests, so background data in flight (and the
 * backend's send queue) stays bounded however fast the backend reads.
 */
public final class BackgroundCredits {
  private final int outstandingMax;
  private int outstanding;

  public BackgroundCredits(int outstandingMax) {
    if (outstandingMax < 1) {
      throw new IllegalArgumentException("outstanding background requests max must be >= 1, got " + outstandingMax);
    }
    this.outstandingMax = outstandingMax;
  }

  /** Takes a credit for one more background request; false when {@code outstandingMax} are already outstanding. */
  public boolean tryAcquire() {
    if (outstanding == outstandingMax) {
      return false;
    }
    outstanding++;
    return true;
  }

  /** Returns a credit when a background request is answered, fails or times out. */
  public void release() {
    if (outstanding == 0) {
      throw new IllegalStateException("background credit released without one outstanding: a reply was counted twice");
    }
    outstanding--;
  }

  public int outstanding() {
    return outstanding;
  }

  public int outstandingMax() {
    return outstandingMax;
  }
}
