package io.ferry.testkit;

import io.ferry.testkit.seed.Seed;
import io.ferry.transport.shaping.LinkEmulator;
import io.ferry.transport.shaping.LinkProfile;
import io.ferry.transport.shaping.TcpLinkEmulator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A WAN between two endpoints on one machine, for tests: a relay on a free loopback port that
 * forwards to {@code 127.0.0.1:port} with the delay, bandwidth and loss of a {@link LinkProfile}.
 * A thin entry point over transport's emulators: {@link TcpLinkEmulator} for TCP (NBD, HTTP),
 * {@link LinkEmulator} for UDP (Aeron block channels). Connect to the relay's {@code port()}
 * instead of the target's.
 *
 * <pre>{@code
 * try (TcpLinkEmulator wan = EmulatedLink.tcp(server.port(), EmulatedLink.wan(Duration.ofMillis(50), 100_000_000))) {
 *   NbdClient.connect("127.0.0.1", wan.port(), ...);
 * }
 * }</pre>
 */
public final class EmulatedLink {

  private static final String LOOPBACK = "127.0.0.1";

  private EmulatedLink() {}

  /** A lossless WAN: {@code rtt} round trip (half of it each way), {@code bitsPerSecond} each way. */
  public static LinkProfile wan(Duration rtt, long bitsPerSecond) {
    return LinkProfile.wan(rtt, bitsPerSecond, 0.0, 0);
  }

  /**
   * A WAN that also loses {@code lossRate} (0 to 1) of the datagrams (UDP only: TCP does not lose
   * bytes); the test's {@code seed} draws which, so a failure replays with {@code -Dferry.seed}.
   */
  public static LinkProfile lossyWan(Duration rtt, long bitsPerSecond, double lossRate, Seed seed) {
    return LinkProfile.wan(rtt, bitsPerSecond, lossRate, seed.value());
  }

  /** Relays TCP connections to {@code 127.0.0.1:port} through {@code profile}. */
  public static TcpLinkEmulator tcp(int port, LinkProfile profile) throws IOException {
    return TcpLinkEmulator.start(LOOPBACK, new InetSocketAddress(LOOPBACK, port), profile);
  }

  /** Relays UDP datagrams to {@code 127.0.0.1:port} through {@code profile}. */
  public static LinkEmulator udp(int port, LinkProfile profile) {
    return LinkEmulator.start(LOOPBACK, new InetSocketAddress(LOOPBACK, port), profile);
  }
}
