package io.ferry.transport.nbd;

/**
 * One run of the {@code base:allocation} metadata context: {@code hole} means not allocated in
 * the backing store, {@code zero} means it reads as zeroes. Returned by
 * {@link NbdExport#blockStatus(long, long)}.
 */
public record Extent(long length, boolean hole, boolean zero) {

    public Extent {
        if (length <= 0) {
            throw new IllegalArgumentException("extent length must be positive, got " + length);
        }
    }

    int statusFlags() {
        return (hole ? NbdProtocol.STATE_HOLE : 0) | (zero ? NbdProtocol.STATE_ZERO : 0);
    }
}
