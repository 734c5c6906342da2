package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.shaping.LinkEmulator;
import io.ferry.transport.shaping.TcpLinkEmulator;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The emulated link's entry points relay to the target through the profile: the delay is there, the bytes arrive, loss loses. */
@ExtendWith(SeedExtension.class)
class EmulatedLinkIT {

  private static final Duration RTT = Duration.ofMillis(80);

  @Test
  void tcpRelayDelaysARoundTripByTheRtt() throws Exception {
    try (ServerSocket echo = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread server = new Thread(() -> {
        try (Socket s = echo.accept()) {
          s.getOutputStream().write(s.getInputStream().readNBytes(4));
        } catch (Exception e) {
          // the client's assertions report what went wrong
        }
      });
      server.start();
      try (TcpLinkEmulator wan = EmulatedLink.tcp(echo.getLocalPort(), EmulatedLink.wan(RTT, 100_000_000));
          Socket client = new Socket(InetAddress.getLoopbackAddress(), wan.port())) {
        OutputStream out = client.getOutputStream();
        InputStream in = client.getInputStream();
        long start = System.nanoTime();
        out.write(new byte[] {1, 2, 3, 4});
        out.flush();
        assertArrayEquals(new byte[] {1, 2, 3, 4}, in.readNBytes(4));
        long millis = (System.nanoTime() - start) / 1_000_000;
        // there and back through the relay: at least one RTT (the link's delay is a floor, never shortened)
        assertTrue(millis >= RTT.toMillis(), "round trip took " + millis + " ms through a link of RTT " + RTT);
        assertTrue(wan.bytesForwarded() >= 4, "bytes forwarded: " + wan.bytesForwarded());
      }
      server.join(10_000);
    }
  }

  @Test
  void udpRelayForwardsDatagramsAfterHalfTheRtt() throws Exception {
    try (DatagramSocket target = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        LinkEmulator wan = EmulatedLink.udp(target.getLocalPort(), EmulatedLink.wan(RTT, 100_000_000));
        DatagramSocket sender = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      target.setSoTimeout(10_000);
      byte[] payload = "block".getBytes();
      long start = System.nanoTime();
      sender.send(new DatagramPacket(payload, payload.length, InetAddress.getLoopbackAddress(), wan.port()));
      DatagramPacket got = new DatagramPacket(new byte[64], 64);
      target.receive(got);
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals("block", new String(got.getData(), 0, got.getLength()));
      assertTrue(millis >= RTT.toMillis() / 2, "one way took " + millis + " ms through a link of RTT " + RTT);
    }
  }

  @Test
  void aLinkThatLosesEverythingDeliversNothing(Seed seed) throws Exception {
    try (DatagramSocket target = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        LinkEmulator wan = EmulatedLink.udp(target.getLocalPort(), EmulatedLink.lossyWan(RTT, 100_000_000, 1.0, seed));
        DatagramSocket sender = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      target.setSoTimeout((int) (RTT.toMillis() * 5));
      byte[] payload = "lost".getBytes();
      for (int i = 0; i < 10; i++) {
        sender.send(new DatagramPacket(payload, payload.length, InetAddress.getLoopbackAddress(), wan.port()));
      }
      assertThrows(SocketTimeoutException.class, () -> target.receive(new DatagramPacket(new byte[64], 64)));
      assertEquals(10, wan.datagramsDropped());
    }
  }
}
