package io.ferry.blocks.plan;

import java.util.Arrays;
import java.util.BitSet;

/**
 * Watches a volume's on-demand reads and, when the latest ones match a run of a recorded {@link AccessTrace}, predicts
 * the trace's continuation. The backend feeds the prediction to {@link BackgroundPlan#predicted(long[])}.
 *
 * <p>Matching works on the last {@code matchLength} distinct reads in order of their latest occurrence (a read of a
 * block already in that window moves it to the end), so reads that repeat, or a trace that reads the same block
 * several times, still match; the trace side of a match is normalised the same way. Reads that skip part of the trace
 * match again once {@code matchLength} reads in a row follow it. Each block is predicted at most once.
 */
public final class TracePredictor {
  public static final int MATCH_LENGTH_DEFAULT = 3;
  public static final int LOOKAHEAD_DEFAULT = 256;
  /** Longest window; a longer one would rarely match a real trace and costs time on every read. */
  public static final int MATCH_LENGTH_MAX = 64;
  /**
   * Trace positions of the read block examined per read, so a block the trace reads thousands of times (a superblock)
   * cannot make one read slow. Positions after the last match are tried first.
   */
  static final int CANDIDATES_MAX = 64;
  /** Trace entries walked back per candidate, per window slot, before giving up on it. */
  static final int WALK_PER_SLOT_MAX = 16;

  private static final long[] NONE = new long[0];
  private static final int POSITION_BITS = 20;
  private static final long POSITION_MASK = (1L << POSITION_BITS) - 1;

  private final AccessTrace trace;
  private final int matchLength;
  private final int lookahead;
  /** (block << 20 | position) for every trace entry, sorted: the positions of a block are one run. */
  private final long[] index;
  /** Positions whose block has been predicted (every position of a predicted block is set). */
  private final BitSet emitted;
  /** Last distinct reads, oldest first. */
  private final long[] window;
  private int windowSize;
  private int lastMatchEnd = -1;
  private long[] scratch;

  public TracePredictor(AccessTrace trace) {
    this(trace, MATCH_LENGTH_DEFAULT, LOOKAHEAD_DEFAULT);
  }

  public TracePredictor(AccessTrace trace, int matchLength, int lookahead) {
    if (matchLength < 1 || matchLength > MATCH_LENGTH_MAX) {
      throw new IllegalArgumentException(
          "trace match length must be between 1 and " + MATCH_LENGTH_MAX + " reads, got " + matchLength);
    }
    if (lookahead < 1 || lookahead > AccessTrace.LENGTH_MAX) {
      throw new IllegalArgumentException(
          "trace lookahead must be between 1 and " + AccessTrace.LENGTH_MAX + " entries, got " + lookahead);
    }
    this.trace = trace;
    this.matchLength = matchLength;
    this.lookahead = lookahead;
    this.index = new long[trace.length()];
    for (int i = 0; i < index.length; i++) {
      index[i] = (trace.at(i) << POSITION_BITS) | i;
    }
    Arrays.sort(index);
    this.emitted = new BitSet(trace.length());
    this.window = new long[matchLength];
    this.scratch = new long[Math.min(lookahead, 1024)];
  }

  /** Records an on-demand read; returns the blocks to prefetch now, in trace order, possibly none. */
  public long[] onRead(long block) {
    if (block < 0) {
      throw new IllegalArgumentException("block index must be >= 0, got " + block);
    }
    if (!remember(block) || windowSize < matchLength || block >= AccessTrace.BLOCK_LIMIT) {
      return NONE;
    }
    int lo = lowerBound(block << POSITION_BITS);
    int hi = lowerBound((block + 1) << POSITION_BITS);
    if (lo == hi) {
      return NONE;
    }
    int after = lowerBound((block << POSITION_BITS) + lastMatchEnd + 1L);
    int tried = 0;
    for (int k = 0; k < hi - lo && tried < CANDIDATES_MAX; k++, tried++) {
      int i = after + k < hi ? after + k : lo + (after + k - hi);
      int p = (int) (index[i] & POSITION_MASK);
      if (runEndsAt(p)) {
        lastMatchEnd = p;
        return continuation(p);
      }
    }
    return NONE;
  }

  /** Moves {@code block} to the window's end; false when it already was the newest read, so nothing changed. */
  private boolean remember(long block) {
    if (windowSize > 0 && window[windowSize - 1] == block) {
      return false;
    }
    int at = -1;
    for (int i = 0; i < windowSize; i++) {
      if (window[i] == block) {
        at = i;
        break;
      }
    }
    if (at < 0 && windowSize == matchLength) {
      at = 0;
    }
    if (at >= 0) {
      System.arraycopy(window, at + 1, window, at, windowSize - at - 1);
      windowSize--;
    }
    window[windowSize++] = block;
    return true;
  }

  /** Whether the trace's last {@code matchLength} distinct entries up to position {@code p} equal the window. */
  private boolean runEndsAt(int p) {
    int j = matchLength - 2;
    int walkMax = matchLength * WALK_PER_SLOT_MAX;
    for (int q = p - 1, steps = 0; j >= 0 && q >= 0 && steps < walkMax; q--, steps++) {
      long t = trace.at(q);
      if (t == window[j]) {
        j--;
      } else if (!inWindowAfter(t, j)) {
        return false;
      }
    }
    return j < 0;
  }

  private boolean inWindowAfter(long block, int j) {
    for (int i = j + 1; i < matchLength; i++) {
      if (window[i] == block) {
        return true;
      }
    }
    return false;
  }

  private long[] continuation(int p) {
    int end = (int) Math.min((long) p + 1 + lookahead, trace.length());
    int n = 0;
    for (int q = emitted.nextClearBit(p + 1); q < end; q = emitted.nextClearBit(q + 1)) {
      long block = trace.at(q);
      if (n == scratch.length) {
        scratch = Arrays.copyOf(scratch, Math.min(scratch.length * 2, lookahead));
      }
      scratch[n++] = block;
      markEmitted(block);
    }
    return n == 0 ? NONE : Arrays.copyOf(scratch, n);
  }

  private void markEmitted(long block) {
    int hi = lowerBound((block + 1) << POSITION_BITS);
    for (int i = lowerBound(block << POSITION_BITS); i < hi; i++) {
      emitted.set((int) (index[i] & POSITION_MASK));
    }
  }

  private int lowerBound(long key) {
    int lo = 0;
    int hi = index.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (index[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
