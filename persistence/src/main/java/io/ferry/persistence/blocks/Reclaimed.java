package io.ferry.persistence.blocks;

/**
 * What one {@link BlockStore#reclaim} did.
 *
 * @param blocksRemoved stored blocks no volume mapped any more, taken out of rewritten segments
 * @param segmentsRewritten sealed segments rewritten with only their live blocks
 * @param dataBytesFreed bytes the data segments shrank by
 * @param indexBytesFreed bytes the index log shrank by (rewritten as one record per current entry)
 */
public record Reclaimed(long blocksRemoved, int segmentsRewritten, long dataBytesFreed, long indexBytesFreed) {}
