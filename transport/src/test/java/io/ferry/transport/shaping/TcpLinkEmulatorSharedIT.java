package io.ferry.transport.shaping;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A shared link splits its bandwidth among connections; a per-connection one gives each the whole of it. */
class TcpLinkEmulatorSharedIT {

  private static final int BYTES = 256 << 10;
  private static final int CONNECTIONS = 4;

  @Test
  void connectionsOfASharedLinkShareItsBandwidth() throws Exception {
    // 16 Mbit/s: 256 KiB takes 0.13 s; four of them take 0.52 s on one link, 0.13 s on four.
    LinkProfile profile = new LinkProfile(Duration.ZERO, 16_000_000, 0.0, 0, 1);
    double shared = sendAll(true, profile);
    double separate = sendAll(false, profile);
    double oneLink = (double) CONNECTIONS * BYTES * 8 / 16_000_000;
    assertTrue(shared >= 0.95 * oneLink, "shared: " + shared + " s for what one link carries in " + oneLink + " s");
    assertTrue(separate < shared, "separate links " + separate + " s vs shared " + shared + " s");
  }

  /** Seconds until the server has received {@link #BYTES} on each of {@link #CONNECTIONS} connections. */
  private static double sendAll(boolean shared, LinkProfile profile) throws Exception {
    try (ServerSocket server = new ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress());
        TcpLinkEmulator link = shared
            ? TcpLinkEmulator.startShared("127.0.0.1", new InetSocketAddress("127.0.0.1", server.getLocalPort()), profile)
            : TcpLinkEmulator.start("127.0.0.1", new InetSocketAddress("127.0.0.1", server.getLocalPort()), profile)) {
      List<CompletableFuture<Long>> received = new ArrayList<>();
      for (int i = 0; i < CONNECTIONS; i++) {
        received.add(CompletableFuture.supplyAsync(() -> {
          try (Socket s = server.accept()) {
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            while (total < BYTES) {
              int n = in.read(buf);
              if (n < 0) {
                break;
              }
              total += n;
            }
            return total;
          } catch (java.io.IOException e) {
            throw new RuntimeException(e);
          }
        }));
      }
      long t0 = System.nanoTime();
      List<Socket> clients = new ArrayList<>();
      for (int i = 0; i < CONNECTIONS; i++) {
        Socket c = new Socket("127.0.0.1", link.port());
        clients.add(c);
        CompletableFuture.runAsync(() -> {
          try {
            c.getOutputStream().write(new byte[BYTES]);
            c.getOutputStream().flush();
          } catch (java.io.IOException e) {
            throw new RuntimeException(e);
          }
        });
      }
      for (CompletableFuture<Long> r : received) {
        assertEquals(BYTES, r.get(60, TimeUnit.SECONDS));
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      for (Socket c : clients) {
        c.close();
      }
      return seconds;
    }
  }
}
