package io.ferry.transport.shaping;

import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link LinkEmulator} does to the datagrams it relays.
 *
 * @param oneWayDelay            added to every datagram, each direction
 * @param bandwidthBitsPerSecond serialization rate of the forward direction; 0 means unlimited
 * @param lossRate               chance in [0, 1] that a datagram is dropped, each direction; 1 is a partition
 * @param queueLimitBytes        bytes waiting for the forward link beyond which arrivals are tail-dropped; 0 means
 *                               unlimited
 * @param seed                   seeds the loss draws, so a run's losses replay
 */
public record LinkProfile(Duration oneWayDelay, long bandwidthBitsPerSecond, double lossRate, long queueLimitBytes,
                          long seed) {
    /** Queue floor of {@link #wan}: room for bursts of a whole default Aeron window on slow links. */
    public static final long WAN_QUEUE_MIN_BYTES = 256 * 1024;

    public LinkProfile {
        Objects.requireNonNull(oneWayDelay, "oneWayDelay");
        if (oneWayDelay.isNegative()) {
            throw new IllegalArgumentException("oneWayDelay must not be negative, got " + oneWayDelay);
        }
        if (bandwidthBitsPerSecond < 0) {
            throw new IllegalArgumentException("bandwidthBitsPerSecond must be >= 0 (0 = unlimited), got "
                + bandwidthBitsPerSecond);
        }
        if (!(lossRate >= 0.0 && lossRate <= 1.0)) {
            throw new IllegalArgumentException("lossRate must be in [0, 1], got " + lossRate);
        }
        if (queueLimitBytes < 0) {
            throw new IllegalArgumentException("queueLimitBytes must be >= 0 (0 = unlimited), got " + queueLimitBytes);
        }
    }

    /** No delay, no rate limit, no loss: a plain relay. */
    public static LinkProfile unshaped() {
        return new LinkProfile(Duration.ZERO, 0, 0.0, 0, 0);
    }

    /**
     * A WAN of round trip {@code rtt}: half of it each way, and a bottleneck queue of two bandwidth-delay products, so
     * a window of that size (what {@code TransportSettings.forLink} asks for) queues without tail drop.
     */
    public static LinkProfile wan(Duration rtt, long bandwidthBitsPerSecond, double lossRate, long seed) {
        long bdp = (long) Math.ceil(bandwidthBitsPerSecond / 8.0 * rtt.toNanos() / 1e9);
        return new LinkProfile(rtt.dividedBy(2), bandwidthBitsPerSecond, lossRate,
            Math.max(WAN_QUEUE_MIN_BYTES, 2 * bdp), seed);
    }

    /** This profile with a different loss rate, e.g. 1.0 to partition and back to heal. */
    public LinkProfile withLossRate(double rate) {
        return new LinkProfile(oneWayDelay, bandwidthBitsPerSecond, rate, queueLimitBytes, seed);
    }
}
