package io.ferry.transport.nbd;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A block device served by {@link NbdServer}. Operations are asynchronous because a read may wait
 * for an on-demand fetch across a WAN; the server calls them from a connection's reader thread and
 * expects them not to block. The server checks ranges, read-only and request limits before calling,
 * so an implementation sees only in-bounds requests. A failed stage becomes an EIO reply.
 */
public interface NbdExport {

    String name();

    long sizeBytes();

    boolean readOnly();

    /** Completes with exactly {@code length} bytes. */
    CompletionStage<byte[]> read(long offset, int length);

    /** Writes {@code data.length} bytes at {@code offset}. */
    CompletionStage<Void> write(long offset, byte[] data);

    /** Makes every write that completed before this call durable, whichever connection sent it. */
    CompletionStage<Void> flush();

    /** A hint that the range is no longer needed; the export may ignore it. */
    CompletionStage<Void> trim(long offset, long length);

    /** The range must read back as zeroes afterwards. */
    CompletionStage<Void> writeZeroes(long offset, long length);

    /**
     * base:allocation extents covering at least [offset, offset+length) from offset, or a shorter
     * non-empty prefix of it (the client asks again for the rest); default: one allocated extent.
     */
    default CompletionStage<List<Extent>> blockStatus(long offset, long length) {
        return CompletableFuture.completedFuture(List.of(new Extent(length, false, false)));
    }

    /**
     * Whether clients may spread one export over several connections: true only when a flush on
     * one connection covers writes completed on every other (NBD_FLAG_CAN_MULTI_CONN). Off by
     * default because the server cannot know how the export caches.
     */
    default boolean canMultiConn() {
        return false;
    }
}
