package io.ferry.blocks.precopy;

import java.util.ArrayList;
import java.util.List;

/**
 * When a pre-copy migration runs its next pass, switches to write-blocking, pauses and cuts over:
 * pure decisions from the change set's size, no clock or I/O. The rules are {@code
 * VolumeMigration}'s {@code Converging} phase turned around (there the target's writes go back to
 * the source; here the source's workload writes and the target catches up):
 *
 * <ul>
 *   <li>A pass ships the change set as it stands when it starts; writes during it are the next one's.
 *   <li>A change set at most {@code thresholdBlocks} is the final pass: it holds the workload's
 *       writes (the cut-over pause), ships, and the target becomes the primary.
 *   <li>A change set that did not shrink below the previous pass's (writes faster than the link),
 *       or a pass beyond {@code maxPasses}, switches to write-blocking: from then on a write is
 *       acknowledged only once the target holds it, so passes only drain and the next one is final
 *       (QEMU's mirror in its write-blocking copy mode, which always converges).
 * </ul>
 *
 * Pass 0 is the first full copy; passes 1, 2, … ship change sets.
 */
public final class PreCopyConvergence {

  /**
   * @param thresholdBlocks a change set of at most this many blocks is shipped with writes held, then cut over
   * @param maxPasses passes without write-blocking at most; the next one blocks writes
   */
  public record Settings(long thresholdBlocks, int maxPasses) {
    public Settings {
      if (thresholdBlocks < 0) {
        throw new IllegalArgumentException("the cut-over threshold is a number of blocks, got " + thresholdBlocks);
      }
      if (maxPasses < 1 || maxPasses > 1000) {
        throw new IllegalArgumentException("max passes must be 1..1000, got " + maxPasses);
      }
    }
  }

  public enum Mode {
    /** Writes are acknowledged at the source at once and tracked; passes copy them later. */
    PRE_COPY,
    /** Writes are acknowledged once the target holds them too. */
    WRITE_BLOCKING
  }

  /** What to run next. */
  public sealed interface Step {}

  /**
   * Ship the change set as pass {@code pass}; {@code writeBlocking}: mirror writes from now on;
   * {@code holdWrites}: the final pass, writes wait (and are refused at the cut-over).
   */
  public record RunPass(int pass, boolean writeBlocking, boolean holdWrites) implements Step {}

  /** The final pass is at the target: it is the primary now. */
  public record CutOver() implements Step {}

  /** One pass as run: its change set, how long it took, and in which mode. */
  public record PassRecord(int pass, long changedBlocks, long nanos, boolean writeBlocking, boolean holdWrites) {}

  private final Settings settings;
  private final List<PassRecord> passes = new ArrayList<>();
  private RunPass running;
  private boolean cutOver;
  private Mode mode = Mode.PRE_COPY;
  private String modeReason = "";

  public PreCopyConvergence(Settings settings) {
    this.settings = settings;
  }

  /** The first full copy (pass 0) is done; {@code changedBlocks} were written during it. */
  public RunPass copied(long changedBlocks, long nanos) {
    if (!passes.isEmpty() || running != null) {
      throw new IllegalStateException("the full copy is pass 0 and runs once; passes so far: " + passes);
    }
    passes.add(new PassRecord(0, -1, nanos, false, false));
    return next(1, changedBlocks);
  }

  /**
   * The final pass found more than the threshold once the writes were held: writes landed between
   * the decision (the previous pass's end) and the hold. It runs as an ordinary pass instead, so a
   * pause never ships more than the threshold, and the next decision is made from what it leaves.
   * Not in write-blocking mode, where the change set only drains and the final pass always cuts over.
   */
  public RunPass holdDeclined(long changedBlocks) {
    if (running == null || !running.holdWrites() || running.writeBlocking() || changedBlocks <= settings.thresholdBlocks()) {
      throw new IllegalStateException("only a final pre-copy pass over more than " + settings.thresholdBlocks() + " blocks declines its hold; running "
          + running + " over " + changedBlocks);
    }
    running = new RunPass(running.pass(), false, false);
    return running;
  }

  /**
   * Pass {@code pass} shipped {@code shippedBlocks} in {@code nanos}; {@code changedBlocks} were
   * written meanwhile (the next change set).
   */
  public Step passDone(int pass, long shippedBlocks, long changedBlocks, long nanos) {
    if (running == null || running.pass() != pass) {
      throw new IllegalStateException("pass " + pass + " reported done, but " + (running == null ? "no pass" : "pass " + running.pass()) + " is running");
    }
    if (shippedBlocks < 0 || changedBlocks < 0) {
      throw new IllegalArgumentException("pass " + pass + ": block counts are not negative, got " + shippedBlocks + " and " + changedBlocks);
    }
    RunPass done = running;
    running = null;
    passes.add(new PassRecord(pass, shippedBlocks, nanos, done.writeBlocking(), done.holdWrites()));
    if (done.holdWrites()) {
      cutOver = true;
      return new CutOver();
    }
    return next(pass + 1, changedBlocks);
  }

  private RunPass next(int pass, long changedBlocks) {
    if (mode == Mode.PRE_COPY && changedBlocks > settings.thresholdBlocks()) {
      long last = lastShipped();
      if (last >= 0 && changedBlocks >= last) {
        mode = Mode.WRITE_BLOCKING;
        modeReason = "pass " + (pass - 1) + " shipped " + last + " blocks and " + changedBlocks
            + " were written meanwhile: writes outpace the link, so writes wait for the target from pass " + pass;
      } else if (pass > settings.maxPasses()) {
        mode = Mode.WRITE_BLOCKING;
        modeReason = settings.maxPasses() + " passes did not bring the change set to " + settings.thresholdBlocks()
            + " blocks (" + changedBlocks + " left): writes wait for the target from pass " + pass;
      }
    }
    running = new RunPass(pass, mode == Mode.WRITE_BLOCKING, changedBlocks <= settings.thresholdBlocks());
    return running;
  }

  private long lastShipped() {
    return passes.isEmpty() ? -1 : passes.get(passes.size() - 1).changedBlocks();
  }

  public Mode mode() {
    return mode;
  }

  /** Why the mode is write-blocking ("" while it is not). */
  public String modeReason() {
    return modeReason;
  }

  public List<PassRecord> passes() {
    return List.copyOf(passes);
  }

  public boolean cutOver() {
    return cutOver;
  }
}
