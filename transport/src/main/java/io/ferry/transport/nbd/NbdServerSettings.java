package io.ferry.transport.nbd;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits and address of an {@link NbdServer}.
 *
 * @param bindHost                 address to listen on; loopback by default because NBD has no
 *                                 authentication
 * @param port                     TCP port, 0 for any free port
 * @param maxConnections           connections served at once; further ones are closed on accept
 * @param maxInFlightPerConnection requests dispatched but not yet answered per connection; the
 *                                 server stops reading the socket when it is reached
 * @param maxRequestBytes          largest READ/WRITE payload, advertised as the maximum payload
 *                                 size in NBD_INFO_BLOCK_SIZE
 * @param handshakeTimeout         time from accept to the end of option haggling
 */
public record NbdServerSettings(String bindHost, int port, int maxConnections, int maxInFlightPerConnection,
                                int maxRequestBytes, Duration handshakeTimeout) {

    /** The preferred block size the server advertises; the payload limit may not go below it. */
    static final int PREFERRED_BLOCK_BYTES = 4096;
    static final int MAX_REQUEST_BYTES_LIMIT = 1 << 30;
    static final int MAX_IN_FLIGHT_LIMIT = 4096;

    public NbdServerSettings {
        Objects.requireNonNull(bindHost, "bindHost");
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        if (bindHost.isBlank()) {
            throw new IllegalArgumentException("nbd bindHost must not be blank");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("nbd port must be between 0 and 65535, got " + port);
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("nbd maxConnections must be at least 1, got " + maxConnections);
        }
        if (maxInFlightPerConnection < 1 || maxInFlightPerConnection > MAX_IN_FLIGHT_LIMIT) {
            throw new IllegalArgumentException("nbd maxInFlightPerConnection must be between 1 and "
                    + MAX_IN_FLIGHT_LIMIT + ", got " + maxInFlightPerConnection);
        }
        if (maxRequestBytes < PREFERRED_BLOCK_BYTES || maxRequestBytes > MAX_REQUEST_BYTES_LIMIT) {
            throw new IllegalArgumentException("nbd maxRequestBytes must be between " + PREFERRED_BLOCK_BYTES
                    + " and " + MAX_REQUEST_BYTES_LIMIT + ", got " + maxRequestBytes);
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("nbd handshakeTimeout must be positive, got " + handshakeTimeout);
        }
    }

    /** 127.0.0.1, any port, 64 connections, 64 requests in flight each, 32 MiB requests, 10 s handshake. */
    public static NbdServerSettings defaults() {
        return new NbdServerSettings("127.0.0.1", 0, 64, 64, 32 << 20, Duration.ofSeconds(10));
    }
}
