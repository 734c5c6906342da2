package io.ferry.blocks.writeback;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The target's half of write-back (deferred write mode, seed 002 §2.8.1): which acknowledged writes
 * the source does not hold yet, grouped into batches the source applies in order. Plain Java, time
 * passed in.
 *
 * <p>The shell calls {@link #acknowledged} only after the write is durable in the target's store, so
 * a batch names blocks whose bytes the store already holds; it reads them when it {@link #seal}s a
 * batch, and the version it sends is the sequence recorded for that block at sealing, which is at
 * least as new as the bytes read then. Every write gets the next sequence of this volume, so a block
 * written twice carries the higher one the second time: the source, which keeps the last sequence
 * applied per block ({@link WriteBackApplier}), never lets an older version overwrite a newer one,
 * even when a batch is sent again after a reconnect.
 *
 * <p>Bounds: an open batch is sealed once its oldest write is {@code rpo} old or it holds {@code
 * maxBatchBytes} of distinct blocks; overwrites of a block already in the open batch cost nothing
 * (coalesced). At most {@code maxBatchesInFlight} batches wait for the source's confirmation; when
 * they and the open batch are full, {@link #canAccept} says no and the shell holds the write's
 * acknowledgement (backpressure) rather than letting memory or the RPO grow without bound.
 */
public final class WriteBackAggregator {

  /**
   * @param rpo the oldest an acknowledged write may be before its batch is sealed (default 30 s)
   * @param maxBatchBytes the most distinct-block bytes a batch holds (default 64 MiB)
   * @param maxBatchesInFlight sealed batches awaiting the source's confirmation at most
   */
  public record Limits(Duration rpo, long maxBatchBytes, int blockSizeBytes, int maxBatchesInFlight) {
    public Limits {
      if (rpo == null || rpo.isNegative() || rpo.isZero()) {
        throw new IllegalArgumentException("write-back RPO must be positive, got " + rpo);
      }
      if (blockSizeBytes <= 0 || maxBatchBytes < blockSizeBytes) {
        throw new IllegalArgumentException("a write-back batch of " + maxBatchBytes + " bytes cannot hold one block of " + blockSizeBytes);
      }
      if (maxBatchesInFlight < 1) {
        throw new IllegalArgumentException("at least one batch must be allowed in flight, got " + maxBatchesInFlight);
      }
    }

    /** The defaults the issue names: RPO 30 s, 64 MiB batches, 4 in flight. */
    public static Limits defaults(int blockSizeBytes) {
      return new Limits(Duration.ofSeconds(30), 64L << 20, blockSizeBytes, 4);
    }

    int maxBlocks() {
      return (int) Math.min(Integer.MAX_VALUE, maxBatchBytes / blockSizeBytes);
    }
  }

  /** One block's version: the sequence of the newest write to it that the batch carries. */
  public record BlockVersion(long block, long sequence) {
    public BlockVersion {
      if (block < 0 || sequence <= 0) {
        throw new IllegalArgumentException("block " + block + " sequence " + sequence + ": blocks count from 0, sequences from 1");
      }
    }
  }

  /**
   * A sealed batch: numbered from 1 per volume, blocks in ascending sequence (the order they were
   * last written), {@code writes} the acknowledged writes it stands for (at least its block count).
   */
  public record Batch(long number, List<BlockVersion> blocks, long writes, long oldestAckNanos) {
    public Batch {
      blocks = List.copyOf(blocks);
      if (number < 1 || blocks.isEmpty() || writes < blocks.size()) {
        throw new IllegalArgumentException("batch " + number + " of " + blocks.size() + " blocks for " + writes + " writes");
      }
    }
  }

  /** Counters for metrics and the benchmark: what coalescing saved. */
  public record Stats(long writesAcknowledged, long blocksSealed, long batchesSealed, long batchesConfirmed) {
    /** The share of acknowledged writes never shipped because a later write to the block replaced them. */
    public double coalescedRatio() {
      return writesAcknowledged == 0 ? 0 : 1.0 - (double) blocksSealed / writesAcknowledged;
    }
  }

  private final Limits limits;
  private final Map<Long, Long> open = new LinkedHashMap<>();
  private final ArrayDeque<Batch> inFlight = new ArrayDeque<>();
  private long openWrites;
  private long openOldestNanos;
  private long nextSequence;
  private long nextBatch;
  private long writes;
  private long blocksSealed;
  private long batchesSealed;
  private long batchesConfirmed;

  private WriteBackAggregator(Limits limits, long nextSequence, long nextBatch) {
    this.limits = limits;
    this.nextSequence = nextSequence;
    this.nextBatch = nextBatch;
  }

  /** A volume with no write shipped yet. */
  public static WriteBackAggregator create(Limits limits) {
    return new WriteBackAggregator(limits, 1, 1);
  }

  /**
   * After a restart: {@code unconfirmed} are the versions the source had not confirmed (as
   * persisted by the shell), {@code lastSequence} the highest sequence used before and {@code
   * lastBatch} the last batch the source applied (it says so when the target attaches again), so
   * sequences and batch numbers continue above them. Versions the source applied without its
   * confirmation arriving are shipped again and skipped there. The unconfirmed versions form the open
   * batch again, marked as acknowledged at {@code nowNanos}.
   */
  public static WriteBackAggregator recover(Limits limits, List<BlockVersion> unconfirmed, long lastSequence, long lastBatch, long nowNanos) {
    WriteBackAggregator a = new WriteBackAggregator(limits, lastSequence + 1, lastBatch + 1);
    for (BlockVersion v : unconfirmed.stream().sorted(Comparator.comparingLong(BlockVersion::sequence)).toList()) {
      if (v.sequence() > lastSequence) {
        throw new IllegalArgumentException("unconfirmed version " + v + " is above the last sequence " + lastSequence);
      }
      if (a.open.isEmpty()) {
        a.openOldestNanos = nowNanos;
      }
      // Versions arrive in ascending sequence: the later one replaces the earlier and moves to the
      // end, so the batch keeps listing blocks in the order they were last written.
      a.open.remove(v.block());
      a.open.put(v.block(), v.sequence());
      a.openWrites++;
    }
    return a;
  }

  /** Whether a write to {@code block} may be acknowledged now without exceeding the bounds. */
  public boolean canAccept(long block) {
    return open.containsKey(block) || open.size() < limits.maxBlocks() || inFlight.size() < limits.maxBatchesInFlight();
  }

  /**
   * Records a write durable at the target; returns its sequence. If the open batch is full it is
   * sealed first (when a slot is free; otherwise {@link #canAccept} was false and this throws).
   */
  public long acknowledged(long block, long nowNanos) {
    if (block < 0) {
      throw new IllegalArgumentException("block " + block);
    }
    if (!canAccept(block)) {
      throw new IllegalStateException("write-back is full: " + inFlight.size() + " batches await the source and the open batch holds "
          + open.size() + " blocks; hold the acknowledgement until canAccept");
    }
    if (!open.containsKey(block) && open.size() >= limits.maxBlocks()) {
      sealOpen();
    }
    long seq = nextSequence++;
    if (open.isEmpty()) {
      openOldestNanos = nowNanos;
    }
    // Removing first keeps the map in last-written order, so a batch lists blocks by sequence.
    open.remove(block);
    open.put(block, seq);
    openWrites++;
    writes++;
    return seq;
  }

  /** Seals the open batch if its RPO or its size is due and a slot in flight is free. */
  public Optional<Batch> seal(long nowNanos) {
    if (open.isEmpty() || inFlight.size() >= limits.maxBatchesInFlight()) {
      return Optional.empty();
    }
    boolean due = nowNanos - openOldestNanos >= limits.rpo().toNanos() || open.size() >= limits.maxBlocks();
    return due ? Optional.of(sealOpen()) : Optional.empty();
  }

  /**
   * Seals whatever is open regardless of the RPO (abort, reverse and cut-over drain everything);
   * empty when nothing is open or no slot is free (confirmations make room).
   */
  public Optional<Batch> sealNow() {
    return open.isEmpty() || inFlight.size() >= limits.maxBatchesInFlight() ? Optional.empty() : Optional.of(sealOpen());
  }

  private Batch sealOpen() {
    List<BlockVersion> blocks = new ArrayList<>(open.size());
    open.forEach((b, s) -> blocks.add(new BlockVersion(b, s)));
    Batch batch = new Batch(nextBatch++, blocks, openWrites, openOldestNanos);
    open.clear();
    openWrites = 0;
    inFlight.addLast(batch);
    blocksSealed += blocks.size();
    batchesSealed++;
    return batch;
  }

  /**
   * The source applied batch {@code number} durably. Batches are confirmed in order; a confirmation
   * of one already confirmed (a resend answered twice) is ignored and returns false.
   */
  public boolean confirmed(long number) {
    Batch head = inFlight.peekFirst();
    if (head == null || number < head.number()) {
      return false;
    }
    if (number != head.number()) {
      throw new IllegalStateException("the source confirmed batch " + number + " before batch " + head.number() + ": it must apply them in order");
    }
    inFlight.removeFirst();
    batchesConfirmed++;
    return true;
  }

  /** Sealed batches the source has not confirmed, oldest first: sent again after a reconnect. */
  public List<Batch> unconfirmed() {
    return List.copyOf(inFlight);
  }

  /** Every version the source does not hold yet (in flight and open): what the shell persists. */
  public List<BlockVersion> pending() {
    List<BlockVersion> out = new ArrayList<>();
    inFlight.forEach(b -> out.addAll(b.blocks()));
    open.forEach((b, s) -> out.add(new BlockVersion(b, s)));
    return out;
  }

  /** Distinct blocks the source lacks: the change set a convergence pass or a drain must ship. */
  public long pendingBlocks() {
    return pending().stream().mapToLong(BlockVersion::block).distinct().count();
  }

  /** Nothing open and nothing awaiting the source: every acknowledged write is at the source. */
  public boolean drained() {
    return open.isEmpty() && inFlight.isEmpty();
  }

  /** Age of the oldest acknowledged write the source has not confirmed (0 when drained): the RPO achieved. */
  public long oldestUnconfirmedAgeNanos(long nowNanos) {
    Batch head = inFlight.peekFirst();
    long oldest = head != null ? head.oldestAckNanos() : open.isEmpty() ? nowNanos : openOldestNanos;
    return Math.max(0, nowNanos - oldest);
  }

  public long lastSequence() {
    return nextSequence - 1;
  }

  public long lastBatch() {
    return nextBatch - 1;
  }

  public Stats stats() {
    return new Stats(writes, blocksSealed, batchesSealed, batchesConfirmed);
  }
}
