package io.ferry.persistence.blocks;

/**
 * Figures of a {@link BlockStore}.
 *
 * @param blocksStored distinct blocks (hashes) held in data segments
 * @param logicalBytesStored uncompressed bytes of those blocks
 * @param bytesOnDisk data segments plus the index log
 * @param dedupHits puts and refs since open that were served by a block already stored (not
 *     persisted)
 * @param zeroEntries (volume, index) entries that are all zeros, across all volumes
 */
public record StoreStats(
    long blocksStored, long logicalBytesStored, long bytesOnDisk, long dedupHits, long zeroEntries) {}
