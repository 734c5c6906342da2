package io.ferry.transport.shaping;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The UDP emulator alone between two datagram sockets: replies relayed to the sender, nothing
 * delivered before its time, tail drop and partitions counted. Only lower time bounds are checked
 * here (on a loaded machine anything may be late); the exact arithmetic is {@link LinkShaperTest}'s.
 */
class LinkEmulatorDatagramIT {
    private static final String HOST = "127.0.0.1";

    private static DatagramChannel socket(int timeoutMs) throws Exception {
        DatagramChannel c = DatagramChannel.open().bind(new InetSocketAddress(HOST, 0));
        c.socket().setSoTimeout(timeoutMs);
        return c;
    }

    /** Receives one datagram through the socket adaptor (honours SO_TIMEOUT), or null on timeout. */
    private static SocketAddress receive(DatagramChannel c, ByteBuffer into) throws Exception {
        java.net.DatagramPacket packet = new java.net.DatagramPacket(new byte[65_535], 65_535);
        try {
            c.socket().receive(packet);
        } catch (java.net.SocketTimeoutException e) {
            return null;
        }
        into.clear();
        into.put(packet.getData(), 0, packet.getLength()).flip();
        return packet.getSocketAddress();
    }

    @Test
    void delaysBothWaysAndRelaysRepliesToTheSender() throws Exception {
        try (DatagramChannel far = socket(2000); DatagramChannel near = socket(2000);
             LinkEmulator link = LinkEmulator.start(HOST, (InetSocketAddress) far.getLocalAddress(),
                 new LinkProfile(Duration.ofMillis(20), 0, 0.0, 0, 1))) {
            ByteBuffer buffer = ByteBuffer.allocate(65_535);
            long start = System.nanoTime();
            near.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), new InetSocketAddress(HOST, link.port()));
            SocketAddress from = receive(far, buffer);
            long forwardMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(3, buffer.remaining());
            far.send(ByteBuffer.wrap(new byte[] {9}), from);
            assertTrue(receive(near, buffer) != null, "reply relayed back to the sender");
            long roundTripMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            System.out.printf("emulated 20 ms one way: forward %d ms, round trip %d ms%n", forwardMs, roundTripMs);
            assertTrue(forwardMs >= 20, "forward took " + forwardMs + " ms, less than the delay");
            assertTrue(roundTripMs >= 40, "round trip took " + roundTripMs + " ms, less than twice the delay");
            assertEquals(3, link.bytesForwarded());
        }
    }

    @Test
    void serializesAtTheBandwidthAndTailDropsPastTheQueue() throws Exception {
        int datagrams = 100;
        int size = 1000;
        // 8 Mbit/s is 1000 bytes per ms: 100 datagrams take 100 ms to leave; the queue holds 50 of the rest.
        try (DatagramChannel far = socket(1000); DatagramChannel near = socket(1000)) {
            far.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 1 << 20);
            try (LinkEmulator link = LinkEmulator.start(HOST, (InetSocketAddress) far.getLocalAddress(),
                     new LinkProfile(Duration.ZERO, 8_000_000, 0.0, 0, 1))) {
                ByteBuffer buffer = ByteBuffer.allocate(65_535);
                InetSocketAddress to = new InetSocketAddress(HOST, link.port());
                long start = System.nanoTime();
                for (int i = 0; i < datagrams; i++) {
                    near.send(ByteBuffer.wrap(new byte[size]), to);
                }
                for (int i = 0; i < datagrams; i++) {
                    assertTrue(receive(far, buffer) != null, "datagram " + i + " arrived");
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                System.out.printf("100 x 1000 bytes at 8 Mbit/s took %d ms%n", ms);
                assertTrue(ms >= 99, "took " + ms + " ms, less than the serialization of 100 kB at 8 Mbit/s");

                link.setProfile(new LinkProfile(Duration.ZERO, 8_000_000, 0.0, 50L * size, 1));
                for (int i = 0; i < datagrams; i++) {
                    near.send(ByteBuffer.wrap(new byte[size]), to);
                }
                int arrived = 0;
                while (receive(far, buffer) != null) {
                    arrived++;
                }
                // At least the 50 the queue holds; more when sending was slow enough for the link to drain meanwhile.
                assertTrue(arrived >= 50, "queue of 50 datagrams let through " + arrived);
                assertEquals(datagrams - arrived, link.datagramsDropped());
            }
        }
    }

    @Test
    void seededLossReplaysAndAPartitionDropsEverything() throws Exception {
        assertEquals(lossPattern(42), lossPattern(42), "same seed, same losses");
        try (DatagramChannel far = socket(200); DatagramChannel near = socket(200);
             LinkEmulator link = LinkEmulator.start(HOST, (InetSocketAddress) far.getLocalAddress(),
                 LinkProfile.unshaped().withLossRate(1.0))) {
            near.send(ByteBuffer.wrap(new byte[10]), new InetSocketAddress(HOST, link.port()));
            assertNull(receive(far, ByteBuffer.allocate(100)));
            assertEquals(1, link.datagramsDropped());
        }
    }

    private static String lossPattern(long seed) throws Exception {
        StringBuilder pattern = new StringBuilder();
        try (DatagramChannel far = socket(100); DatagramChannel near = socket(100);
             LinkEmulator link = LinkEmulator.start(HOST, (InetSocketAddress) far.getLocalAddress(),
                 new LinkProfile(Duration.ZERO, 0, 0.3, 0, seed))) {
            ByteBuffer buffer = ByteBuffer.allocate(100);
            for (int i = 0; i < 40; i++) {
                near.send(ByteBuffer.wrap(new byte[] {(byte) i}), new InetSocketAddress(HOST, link.port()));
                SocketAddress got = receive(far, buffer);
                pattern.append(got == null ? '.' : 'x');
            }
        }
        return pattern.toString();
    }
}
