package io.ferry.blocks.writeback;

import io.ferry.blocks.writeback.WriteBackAggregator.Batch;
import io.ferry.blocks.writeback.WriteBackAggregator.BlockVersion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The source's half of write-back: applies batches in their order and never lets an older version
 * of a block overwrite a newer one. Plain Java; the shell writes the blocks {@link #plan} returns to
 * the source, syncs, then calls {@link #applied} and confirms the batch to the target.
 *
 * <p>State is the last batch applied and the last sequence applied per block (one long per block of
 * the volume: 8 bytes per 64 KiB block is 0.01 % of the volume, bounded by its size).
 */
public final class WriteBackApplier {

  /**
   * What to do with one batch.
   *
   * @param write the versions to write, in order
   * @param skippedOlder versions left out because the source already holds a newer one
   * @param duplicate the batch was applied before (sent again): confirm it, write nothing
   */
  public record Plan(long batch, List<BlockVersion> write, int skippedOlder, boolean duplicate) {
    public Plan {
      write = List.copyOf(write);
    }
  }

  private final long[] appliedSequence;
  private long lastBatch;

  private WriteBackApplier(long[] appliedSequence, long lastBatch) {
    this.appliedSequence = appliedSequence;
    this.lastBatch = lastBatch;
  }

  public static WriteBackApplier create(long blockCount) {
    if (blockCount < 0 || blockCount > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a volume of " + blockCount + " blocks");
    }
    return new WriteBackApplier(new long[(int) blockCount], 0);
  }

  /** What {@code batch} needs; throws when it is not the next batch (a gap would lose writes). */
  public Plan plan(Batch batch) {
    if (batch.number() <= lastBatch) {
      return new Plan(batch.number(), List.of(), 0, true);
    }
    if (batch.number() != lastBatch + 1) {
      throw new IllegalStateException("write-back batch " + batch.number() + " arrived before batch " + (lastBatch + 1)
          + ": the source applies batches in order");
    }
    List<BlockVersion> write = new ArrayList<>();
    int skipped = 0;
    for (BlockVersion v : batch.blocks()) {
      if (v.block() >= appliedSequence.length) {
        throw new IllegalArgumentException("block " + v.block() + " is past the volume's " + appliedSequence.length + " blocks");
      }
      if (v.sequence() > appliedSequence[(int) v.block()]) {
        write.add(v);
      } else {
        skipped++;
      }
    }
    return new Plan(batch.number(), write, skipped, false);
  }

  /** The plan's blocks are durable at the source. */
  public void applied(Plan plan) {
    if (plan.duplicate()) {
      return;
    }
    if (plan.batch() != lastBatch + 1) {
      throw new IllegalStateException("applied batch " + plan.batch() + " but the next is " + (lastBatch + 1));
    }
    for (BlockVersion v : plan.write()) {
      int b = (int) v.block();
      appliedSequence[b] = Math.max(appliedSequence[b], v.sequence());
    }
    lastBatch = plan.batch();
  }

  public long lastBatch() {
    return lastBatch;
  }

  /** The newest sequence the source holds for {@code block} (0: none written back). */
  public long appliedSequence(long block) {
    return appliedSequence[(int) block];
  }

  /** A copy of the per-block state, for the shell to persist. */
  public long[] appliedSequences() {
    return Arrays.copyOf(appliedSequence, appliedSequence.length);
  }
}
