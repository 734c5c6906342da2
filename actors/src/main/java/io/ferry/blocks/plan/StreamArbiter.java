package io.ferry.blocks.plan;

/**
 * Chooses which of the backend's two Aeron streams to serve next: on-demand first, but while both have data waiting,
 * background keeps at least {@code backgroundShareMin} of the bytes so prefetch is never starved.
 *
 * <p>A byte balance (deficit round robin by bytes) counts only bytes sent while both streams were waiting: an idle
 * stream earns no credit to burst with later. The balance is what background is owed: on-demand bytes add {@code
 * share} per byte, background bytes take {@code 1 - share}; background is picked while it is positive, so the shares
 * stay within one message of the target.
 */
public final class StreamArbiter {
  public enum Pick {
    ON_DEMAND,
    BACKGROUND,
    NONE
  }

  private final double backgroundShareMin;
  private double owedToBackground;
  /** Whether the last pick had both streams waiting: the bytes reported for it count toward the balance. */
  private boolean contested;

  public StreamArbiter(double backgroundShareMin) {
    if (!(backgroundShareMin >= 0.0 && backgroundShareMin <= 1.0)) {
      throw new IllegalArgumentException(
          "ferry.blocks.background-share-min must be between 0 and 1, got " + backgroundShareMin);
    }
    this.backgroundShareMin = backgroundShareMin;
  }

  public Pick pick(boolean onDemandWaiting, boolean backgroundWaiting) {
    contested = onDemandWaiting && backgroundWaiting;
    if (contested) {
      return owedToBackground > 0 ? Pick.BACKGROUND : Pick.ON_DEMAND;
    }
    if (onDemandWaiting) {
      return Pick.ON_DEMAND;
    }
    return backgroundWaiting ? Pick.BACKGROUND : Pick.NONE;
  }

  /** Reports the bytes sent on {@code stream} after the last {@link #pick}; may be called once per message. */
  public void sent(Pick stream, int bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes sent must be >= 0, got " + bytes);
    }
    if (!contested) {
      return;
    }
    switch (stream) {
      case ON_DEMAND -> owedToBackground += backgroundShareMin * bytes;
      case BACKGROUND -> owedToBackground -= (1.0 - backgroundShareMin) * bytes;
      case NONE -> throw new IllegalArgumentException("bytes sent on stream NONE: " + bytes);
    }
  }

  public double backgroundShareMin() {
    return backgroundShareMin;
  }
}
