package io.ferry.query.node;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
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
    } catch (ConnectException e) {
      return e.getMessage() != null && e.getMessage().contains("refused");
    } catch (IOException e) {
      return false;
    }
  }
}
