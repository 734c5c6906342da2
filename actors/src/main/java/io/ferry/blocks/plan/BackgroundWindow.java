package io.ferry.blocks.plan;

import java.util.ArrayDeque;

/**
 * The backend's side of the background credits, counted in wire bytes as well as in blocks. The
 * frontend returns one credit per background frame that arrived; frames on one stream arrive in
 * the order they were sent, so the n credits returned free the n oldest frames' bytes. A block may
 * be handed out while the bytes on the way are below {@code bytesMax} (the link's allowance: so
 * many full-size blocks) and fewer than {@code framesMax} frames are on the way.
 *
 * <p>Why bytes: credits counted in blocks alone starve the link when blocks compress. At 50 Mbit/s
 * and 20 ms RTT the allowance is 4 blocks of 64 KiB; four LZ4 frames of 6 KiB each fill an eighth
 * of it, and the copy of an ext4 image's compressible half ran at a fraction of the link's rate.
 * Handed-out blocks whose frame is not encoded yet count as full blocks, so the bytes on the way
 * never exceed the allowance by more than one frame's header.
 *
 * <p>Not thread-safe: the backend calls it under its own lock.
 */
public final class BackgroundWindow {
  private final int framesMax;
  private final long bytesMax;
  private final int blockSize;
  private final ArrayDeque<Integer> onTheWay = new ArrayDeque<>();
  private long bytes;
  private int handedOut;

  /**
   * @param framesMax frames on the way at most ({@code background.credits-max})
   * @param bytesMax bytes on the way at most (the credits for the link, in full blocks, times the block size)
   * @param blockSize what a handed-out block counts until its frame's length is known
   */
  public BackgroundWindow(int framesMax, long bytesMax, int blockSize) {
    if (framesMax < 1 || bytesMax < 1 || blockSize < 1) {
      throw new IllegalArgumentException("frames max, bytes max and block size must be positive, got " + framesMax + ", " + bytesMax + ", " + blockSize);
    }
    this.framesMax = framesMax;
    this.bytesMax = bytesMax;
    this.blockSize = blockSize;
  }

  /** A new attachment: nothing of the earlier one is on the way any more (the frontend starts over). */
  public void reset() {
    onTheWay.clear();
    bytes = 0;
    handedOut = 0;
  }

  /** Whether one more background block may be handed out to the sender. */
  public boolean open() {
    return bytes < bytesMax && onTheWay.size() + handedOut < framesMax;
  }

  /** A block was handed out to the sender; it counts as a full block until {@link #sent} or {@link #notSent}. */
  public void handOut() {
    handedOut++;
    bytes += blockSize;
  }

  /** The handed-out block left as a frame of {@code wireBytes}. */
  public void sent(int wireBytes) {
    release();
    onTheWay.addLast(wireBytes);
    bytes += wireBytes;
  }

  /** The handed-out block was not sent (the attachment changed under it): it is asked again. */
  public void notSent() {
    release();
  }

  /** The frontend returned {@code frames} credits: the oldest frames on the way arrived. */
  public void credited(int frames) {
    for (int i = 0; i < frames && !onTheWay.isEmpty(); i++) {
      bytes -= onTheWay.removeFirst();
    }
  }

  public long bytesOnTheWay() {
    return bytes;
  }

  public int framesOnTheWay() {
    return onTheWay.size() + handedOut;
  }

  private void release() {
    if (handedOut == 0) {
      throw new IllegalStateException("a background frame was reported sent or not sent without a block handed out");
    }
    handedOut--;
    bytes -= blockSize;
  }
}
