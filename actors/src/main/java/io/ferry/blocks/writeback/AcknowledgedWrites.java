package io.ferry.blocks.writeback;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;

/**
 * The checker of issue 14's promise: every write acknowledged at the target is present at the
 * primary afterwards, in its newest version. It remembers the newest acknowledged version (a
 * sequence) of each block; {@link #missing} asks the primary which version of a block it holds and
 * lists every block where that is older. Plain Java: the tests and the simulator feed it.
 */
public final class AcknowledgedWrites {

  private final Map<Long, Long> newest = new HashMap<>();

  /** Version {@code sequence} of {@code block} was acknowledged to the client. */
  public void acknowledged(long block, long sequence) {
    newest.merge(block, sequence, Math::max);
  }

  /**
   * The violations: "block b: the primary holds version x, the newest acknowledged is y", one per
   * block whose newest acknowledged version the primary lacks ({@code primaryVersion} gives 0 for
   * a block the primary never got from the target).
   */
  public List<String> missing(LongUnaryOperator primaryVersion) {
    List<String> out = new ArrayList<>();
    newest.forEach((block, seq) -> {
      long held = primaryVersion.applyAsLong(block);
      if (held < seq) {
        out.add("block " + block + ": the primary holds version " + held + ", the newest acknowledged is " + seq);
      }
    });
    out.sort(null);
    return out;
  }

  public int blocks() {
    return newest.size();
  }
}
