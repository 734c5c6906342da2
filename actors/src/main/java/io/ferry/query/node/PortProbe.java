package io.ferry.query.node;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.Socket;
import java.time.Duration;
import org.apache.pekko.actor.Address;

/**
 * Tells whether a member's process is gone by dialling its Artery port: a refused connection means
 * nothing listens there any more. A live member cannot refuse, even cut off by a partition (its
 * packets are lost and the connection times out), unless a firewall rejects for it (WAN: off).
 */
public final class PortProbe {
  private PortProbe() {}

  /** Whether a TCP connection to the address's host and port is refused (nothing listens there). */
  public static boolean refuses(Address address, Duration timeout) {
    if (address.getHost().isEmpty() || address.getPort().isEmpty()) {
      return false;
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address.getHost().get(), (Integer) address.getPort().get()), (int) timeout.toMillis());
      // A socket given the very port it dials connects to itself on loopback: nobody listens there.
      return s.getLocalPort() == s.getPort() && s.getLocalAddress().equals(s.getInetAddress());
    } catch (IOException e) {
      return refusal(e);
    }
  }

  /**
   * Whether a failed connection attempt was refused. By type, not by text (which the platform may
   * localise or word differently): the JDK maps ECONNREFUSED to {@link ConnectException} and an
   * ICMP port-unreachable to {@link PortUnreachableException}. A connect that times out throws
   * {@link java.net.SocketTimeoutException}, an unreachable host {@link java.net.NoRouteToHostException}
   * (neither is a refusal). The JDK also maps the kernel's own connect timeout (ETIMEDOUT) to
   * {@code ConnectException}; it takes minutes, far beyond the probe's timeout, but a live member
   * cut off must never read as gone, so that one is told apart by its text.
   */
  static boolean refusal(IOException e) {
    if (e instanceof PortUnreachableException) {
      return true;
    }
    if (!(e instanceof ConnectException)) {
      return false;
    }
    String text = e.getMessage();
    return text == null || !text.toLowerCase(java.util.Locale.ROOT).contains("timed out");
  }
}
