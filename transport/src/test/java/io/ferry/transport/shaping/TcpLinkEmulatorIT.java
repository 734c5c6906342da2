package io.ferry.transport.shaping;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SeedExtension.class)
class TcpLinkEmulatorIT {
    private static final String HOST = "127.0.0.1";
    /** The class's seed; SeedExtension prints it with its replay option when a test fails. */
    private static long seed;

    @BeforeAll
    static void drawSeed(Seed classSeed) {
        seed = classSeed.value();
    }

    /** Accepts one connection and hands it to {@code body} on a thread of its own; the server closes after. */
    private static CompletableFuture<Long> serveOnce(ServerSocket server, SocketBody body) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(10_000);
                return body.run(s);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @FunctionalInterface
    private interface SocketBody {
        long run(Socket socket) throws IOException;
    }

    /** Echoes until end of stream; returns the bytes echoed. */
    private static long echo(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            total += n;
        }
        return total;
    }

    private static void readFully(InputStream in, byte[] into) throws IOException {
        int done = 0;
        while (done < into.length) {
            int n = in.read(into, done, into.length - done);
            if (n < 0) {
                throw new IOException("end of stream after " + done + " of " + into.length + " bytes");
            }
            done += n;
        }
    }

    private static List<String> liveThreads(int port) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
            .filter(n -> n.startsWith("ferry-tcp-link-" + port + "-")).toList();
    }

    private static void awaitBytesForwarded(TcpLinkEmulator link, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (link.bytesForwarded() < expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(expected, link.bytesForwarded());
    }

    /** The profile's loss rate is 0.5 on purpose: TCP through the emulator must see none of it. */
    @Test
    void roundTripAddsTheDelayBothWaysAndIgnoresLoss() throws Exception {
        Duration delay = Duration.ofMillis(30);
        try (ServerSocket far = new ServerSocket(0, 50, InetAddress.getByName(HOST));
             TcpLinkEmulator link = TcpLinkEmulator.start(HOST, (InetSocketAddress) far.getLocalSocketAddress(),
                 new LinkProfile(delay, 0, 0.5, 0, 1))) {
            CompletableFuture<Long> echoed = serveOnce(far, TcpLinkEmulatorIT::echo);
            try (Socket near = new Socket(HOST, link.port())) {
                near.setTcpNoDelay(true);
                near.setSoTimeout(5_000);
                byte[] reply = new byte[3];
                long[] roundTripsMs = new long[3];
                for (int i = 0; i < roundTripsMs.length; i++) {
                    long start = System.nanoTime();
                    near.getOutputStream().write(new byte[] {1, 2, (byte) i});
                    readFully(near.getInputStream(), reply);
                    roundTripsMs[i] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertArrayEquals(new byte[] {1, 2, (byte) i}, reply);
                }
                System.out.printf("tcp link 30 ms one way: round trips %s ms%n", Arrays.toString(roundTripsMs));
                for (long ms : roundTripsMs) {
                    // A lower bound only: the emulator must not deliver early; late is what a loaded machine is.
                    assertTrue(ms >= 2 * delay.toMillis(), "round trip took " + ms + " ms");
                }
                near.shutdownOutput();
                assertEquals(-1, near.getInputStream().read(), "end of stream relayed back");
            }
            assertEquals(9L, echoed.get(5, TimeUnit.SECONDS));
            awaitBytesForwarded(link, 18);
        }
    }

    @Test
    void pacesAtTheBandwidth() throws Exception {
        int bytes = 4 << 20;
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        try (ServerSocket far = new ServerSocket(0, 50, InetAddress.getByName(HOST));
             TcpLinkEmulator link = TcpLinkEmulator.start(HOST, (InetSocketAddress) far.getLocalSocketAddress(),
                 new LinkProfile(Duration.ofMillis(5), 40_000_000, 0.0, 0, 1))) {
            CompletableFuture<Long> received = serveOnce(far, s -> {
                byte[] got = new byte[bytes];
                readFully(s.getInputStream(), got);
                assertArrayEquals(data, got, "bytes relayed intact, seed=" + seed);
                assertEquals(-1, s.getInputStream().read(), "end of stream relayed");
                return System.nanoTime();
            });
            long start = System.nanoTime();
            try (Socket near = new Socket(HOST, link.port())) {
                near.getOutputStream().write(data);
                near.shutdownOutput();
                long end = received.get(10, TimeUnit.SECONDS);
                double seconds = (end - start) / 1e9;
                System.out.printf("tcp link 40 Mbit/s: 4 MiB in %.3f s%n", seconds);
                // 4 MiB at 40 Mbit/s is 0.84 s of serialization: never faster (slower is the machine's load).
                assertTrue(seconds >= 0.8, "4 MiB took " + seconds + " s");
            }
            awaitBytesForwarded(link, bytes);
        }
    }

    @Test
    void closeEndsConnectionsAndLeavesNoThreads() throws Exception {
        try (ServerSocket far = new ServerSocket(0, 50, InetAddress.getByName(HOST));
             TcpLinkEmulator link = TcpLinkEmulator.start(HOST, (InetSocketAddress) far.getLocalSocketAddress(),
                 new LinkProfile(Duration.ofMillis(50), 1_000_000, 0.0, 0, 1))) {
            int port = link.port();
            CompletableFuture<Long> sink = serveOnce(far,
                s -> s.getInputStream().transferTo(OutputStream.nullOutputStream()));
            try (Socket near = new Socket(HOST, port)) {
                near.setSoTimeout(5_000);
                // Far more than the ring holds at 1 Mbit/s: the writer below ends up blocked by back pressure.
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        near.getOutputStream().write(new byte[16 << 20]);
                    } catch (IOException expected) {
                        // the emulator closes the connection under the writer
                    }
                });
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (liveThreads(port).size() < 5) {
                    assertTrue(System.nanoTime() < deadline, "accept thread and four relay threads: " + liveThreads(port));
                    Thread.sleep(10);
                }
                link.close();
                assertEquals(List.of(), liveThreads(port), "threads left after close");
                try {
                    assertEquals(-1, near.getInputStream().read(), "connection closed by the emulator");
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("connection still open after close", e);
                } catch (IOException reset) {
                    // a reset is a close too
                }
                writer.get(5, TimeUnit.SECONDS);
                sink.get(5, TimeUnit.SECONDS);
            }
            link.close();
            assertEquals(List.of(), liveThreads(port), "a second close is harmless");
        }
    }
}
