package io.ferry.transport.aeron;

import io.ferry.transport.frame.BlockFrame;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Sizes of one site's block channel: the embedded media driver's directory, term buffers, socket buffers and the
 * receiver window. Build with {@link #forLink} so the window covers the link's bandwidth-delay product; Aeron's
 * 128 KiB default window caps a 50 ms round trip near 2.6 MB/s whatever the bandwidth.
 *
 * @param aeronDir            media driver directory; deleted on start and on close
 * @param termLengthBytes     publication term buffer length: a power of two, at least 4 windows, at least 8 frames
 *                            (Aeron's largest message is a term / 8)
 * @param socketBufferBytes   SO_RCVBUF and SO_SNDBUF asked of the OS; at least the window, as Aeron demands
 * @param receiverWindowBytes bytes a receiver lets a sender have in flight
 * @param maxBlockBytes       largest block a frame carries
 * @param driverTimeout       how long client and driver wait for each other before giving up
 */
public record TransportSettings(Path aeronDir, int termLengthBytes, int socketBufferBytes, int receiverWindowBytes,
                                int maxBlockBytes, Duration driverTimeout) {
    /** Aeron's default receiver window and socket buffer; the floor, since smaller only hurts. */
    public static final int WINDOW_MIN_BYTES = 128 * 1024;
    /** Cap on the window: 1 Gbit/s over a 256 ms round trip, far beyond any WAN Ferry targets, keeps terms at 128 MiB. */
    public static final int WINDOW_MAX_BYTES = 32 * 1024 * 1024;
    public static final int TERM_MIN_BYTES = 64 * 1024;
    public static final int TERM_MAX_BYTES = 1024 * 1024 * 1024;
    /** Window per bandwidth-delay product: the slack absorbs status messages that lag up to a quarter window. */
    public static final double WINDOW_PER_BDP = 2.0;
    public static final Duration DEFAULT_DRIVER_TIMEOUT = Duration.ofSeconds(10);

    public TransportSettings {
        Objects.requireNonNull(aeronDir, "aeronDir");
        Objects.requireNonNull(driverTimeout, "driverTimeout");
        if (termLengthBytes < TERM_MIN_BYTES || termLengthBytes > TERM_MAX_BYTES
            || Integer.bitCount(termLengthBytes) != 1) {
            throw new IllegalArgumentException("termLengthBytes must be a power of two between " + TERM_MIN_BYTES
                + " and " + TERM_MAX_BYTES + ", got " + termLengthBytes);
        }
        if (receiverWindowBytes < 4096 || receiverWindowBytes > termLengthBytes / 2) {
            throw new IllegalArgumentException("receiverWindowBytes must be between 4096 and half the term ("
                + termLengthBytes / 2 + "), got " + receiverWindowBytes);
        }
        if (socketBufferBytes < receiverWindowBytes) {
            throw new IllegalArgumentException("socketBufferBytes must be at least receiverWindowBytes ("
                + receiverWindowBytes + "), Aeron refuses a window larger than SO_RCVBUF, got " + socketBufferBytes);
        }
        int frameMax = BlockFrame.maxFrameLength(maxBlockBytes);
        if (frameMax > termLengthBytes / 8) {
            throw new IllegalArgumentException("termLengthBytes " + termLengthBytes + " allows messages of "
                + termLengthBytes / 8 + " bytes, a frame of maxBlockBytes " + maxBlockBytes + " needs " + frameMax);
        }
        if (driverTimeout.isNegative() || driverTimeout.isZero()) {
            throw new IllegalArgumentException("driverTimeout must be positive, got " + driverTimeout);
        }
    }

    /** Aeron's default window and socket buffers, with the smallest term that holds a frame; for tests and LANs. */
    public static TransportSettings defaults(Path aeronDir, int maxBlockBytes) {
        return sized(aeronDir, WINDOW_MIN_BYTES, maxBlockBytes);
    }

    /** Settings whose window is {@link #WINDOW_PER_BDP} bandwidth-delay products, within the floor and cap. */
    public static TransportSettings forLink(Path aeronDir, long bandwidthBitsPerSecond, Duration rtt, int maxBlockBytes) {
        long wanted = (long) Math.ceil(bdpBytes(bandwidthBitsPerSecond, rtt) * WINDOW_PER_BDP);
        int window = (int) Math.max(WINDOW_MIN_BYTES, Math.min(WINDOW_MAX_BYTES, wanted));
        return sized(aeronDir, window, maxBlockBytes);
    }

    /** Bytes in flight on a link that is full: bandwidth times round trip. */
    public static long bdpBytes(long bandwidthBitsPerSecond, Duration rtt) {
        if (bandwidthBitsPerSecond <= 0 || rtt.isNegative()) {
            throw new IllegalArgumentException("bandwidth must be positive and rtt not negative, got "
                + bandwidthBitsPerSecond + " bit/s and " + rtt);
        }
        return (long) Math.ceil(bandwidthBitsPerSecond / 8.0 * rtt.toNanos() / 1e9);
    }

    private static TransportSettings sized(Path aeronDir, int window, int maxBlockBytes) {
        long frameMax = BlockFrame.maxFrameLength(maxBlockBytes);
        long term = Math.max(TERM_MIN_BYTES, Math.max(4L * window, 8L * frameMax));
        int termLength = (int) Math.min(TERM_MAX_BYTES, Long.highestOneBit(term - 1) << 1);
        return new TransportSettings(aeronDir, termLength, window, window, maxBlockBytes, DEFAULT_DRIVER_TIMEOUT);
    }
}
