package io.ferry.transport.shaping;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Objects;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A UDP relay that makes one machine's loopback look like a WAN: placed between an Aeron publication (which sends to
 * {@link #port()}) and its subscription ({@code forwardTo}). Forward datagrams are delayed, serialized at the
 * bandwidth and tail-dropped past the queue limit; datagrams from {@code forwardTo} (status messages, NAKs) go back to
 * the last sender with the same delay, unthrottled. Both directions lose datagrams by a seeded draw. Used by tests,
 * the channel benchmark and the simulator.
 *
 * <p>Two threads: one blocks receiving and stamps each datagram with its delivery time (a virtual clock for the
 * bandwidth), one takes datagrams off a {@link DelayQueue} when due and sends them; timing is good to well under 1 ms.
 */
public final class LinkEmulator implements AutoCloseable {
    /** Largest UDP payload. */
    static final int DATAGRAM_MAX_BYTES = 65_535;
    /** Receive buffer asked of the OS so bursts of a whole window are not lost before the emulator sees them. */
    static final int SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

    private static final Logger log = LoggerFactory.getLogger(LinkEmulator.class);

    private final DatagramChannel channel;
    private final InetSocketAddress forwardTo;
    private final DelayQueue<Datagram> due = new DelayQueue<>();
    private final AtomicLong bytesForwarded = new AtomicLong();
    private final AtomicLong datagramsDropped = new AtomicLong();
    private final Thread receiver;
    private final Thread sender;
    private volatile LinkProfile profile;
    private volatile boolean closed;
    // Receiver thread only: loss draws and the forward link's clock, the sequence that keeps ties in order.
    private final LinkShaper shaper;
    private long sequence;
    private volatile SocketAddress lastSender;
    // Receiver thread only, after corruptForward: which data datagrams get a byte changed.
    private volatile double corruptRate;
    private java.util.Random corruptDraws;
    private final AtomicLong datagramsCorrupted = new AtomicLong();

    private LinkEmulator(DatagramChannel channel, InetSocketAddress forwardTo, LinkProfile profile) {
        this.channel = channel;
        this.forwardTo = forwardTo;
        this.profile = profile;
        this.shaper = new LinkShaper(profile.seed());
        int port = port();
        this.receiver = new Thread(this::receiveLoop, "ferry-link-emulator-in-" + port);
        this.sender = new Thread(this::sendLoop, "ferry-link-emulator-out-" + port);
        receiver.setDaemon(true);
        sender.setDaemon(true);
    }

    /** Listens on a free UDP port of {@code host} and relays to {@code forwardTo} (a resolved address). */
    public static LinkEmulator start(String host, InetSocketAddress forwardTo, LinkProfile profile) {
        Objects.requireNonNull(profile, "profile");
        if (forwardTo.isUnresolved()) {
            throw new IllegalArgumentException("forwardTo must be resolved, got " + forwardTo);
        }
        DatagramChannel channel = null;
        try {
            channel = DatagramChannel.open();
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
            channel.bind(new InetSocketAddress(host, 0));
            LinkEmulator emulator = new LinkEmulator(channel, forwardTo, profile);
            emulator.receiver.start();
            emulator.sender.start();
            log.info("link emulator port={} forwardTo={} profile={}", emulator.port(), forwardTo, profile);
            return emulator;
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // already failing; the first error is the one to report
                }
            }
            throw new UncheckedIOException("cannot start link emulator on " + host, e);
        }
    }

    public int port() {
        try {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes sent on to {@code forwardTo}. */
    public long bytesForwarded() {
        return bytesForwarded.get();
    }

    /** Datagrams dropped by loss draws or a full queue, both directions. */
    public long datagramsDropped() {
        return datagramsDropped.get();
    }

    public LinkProfile profile() {
        return profile;
    }

    /**
     * From now on, changes one payload byte of a forward Aeron data datagram with chance {@code
     * rate} (seeded draws): what a link that corrupts, or an attacker on it, does. Only datagrams
     * holding one data frame are touched, so Aeron's own framing stays intact and the damage
     * reaches the subscriber, where the frame's checks must catch it. Call before traffic starts.
     */
    public void corruptForward(double rate, long seed) {
        if (!(rate >= 0.0 && rate <= 1.0)) {
            throw new IllegalArgumentException("corrupt rate must be in [0, 1], got " + rate);
        }
        corruptDraws = new java.util.Random(seed);
        corruptRate = rate;
    }

    /** Forward datagrams changed by {@link #corruptForward}. */
    public long datagramsCorrupted() {
        return datagramsCorrupted.get();
    }

    /** Changes the link for datagrams arriving from now on; ones already queued keep their delivery time. */
    public void setProfile(LinkProfile p) {
        profile = Objects.requireNonNull(p, "profile");
        log.info("link emulator port={} profile={}", port(), p);
    }

    private void receiveLoop() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(DATAGRAM_MAX_BYTES);
        while (!closed) {
            try {
                buffer.clear();
                SocketAddress from = channel.receive(buffer);
                buffer.flip();
                byte[] data = new byte[buffer.remaining()];
                buffer.get(data);
                schedule(from, data, System.nanoTime());
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    log.warn("link emulator port={} receive failed: {}", port(), e.toString());
                }
            }
        }
    }

    private void schedule(SocketAddress from, byte[] data, long now) {
        boolean reverse = forwardTo.equals(from);
        SocketAddress to = reverse ? lastSender : forwardTo;
        if (!reverse) {
            lastSender = from;
            if (corruptRate > 0) {
                corrupt(data);
            }
        }
        long deliverAt = to == null ? LinkShaper.DROPPED : shaper.deliverAtNanos(profile, data.length, !reverse, now);
        if (deliverAt == LinkShaper.DROPPED) {
            datagramsDropped.incrementAndGet();
            return;
        }
        due.add(new Datagram(deliverAt, sequence++, data, to, !reverse));
    }

    /** Aeron's data frame: a 32-byte header, its length (i32 LE) at 0 and type (u16 LE, data = 1) at 6. */
    private void corrupt(byte[] data) {
        final int header = 32;
        if (data.length <= header) {
            return;
        }
        ByteBuffer view = ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int frameLength = view.getInt(0);
        int type = view.getShort(6) & 0xFFFF;
        boolean oneFrame = frameLength > header && ((frameLength + 31) & ~31) == data.length;
        if (type != 1 || !oneFrame || corruptDraws.nextDouble() >= corruptRate) {
            return;
        }
        int at = header + corruptDraws.nextInt(frameLength - header);
        data[at] ^= (byte) (1 + corruptDraws.nextInt(255));
        datagramsCorrupted.incrementAndGet();
    }

    private void sendLoop() {
        while (!closed) {
            Datagram d;
            try {
                d = due.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                channel.send(ByteBuffer.wrap(d.data), d.to);
                if (d.forward) {
                    bytesForwarded.addAndGet(d.data.length);
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // An unreachable peer (ICMP port unreachable) is what a WAN does too: count it as a drop.
                datagramsDropped.incrementAndGet();
            }
        }
    }

    /** Stops both threads and closes the socket; queued datagrams are dropped. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            log.warn("link emulator close failed: {}", e.toString());
        }
        sender.interrupt();
        try {
            receiver.join(TimeUnit.SECONDS.toMillis(5));
            sender.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Datagram implements Delayed {
        final long deliverAtNanos;
        final long sequence;
        final byte[] data;
        final SocketAddress to;
        final boolean forward;

        Datagram(long deliverAtNanos, long sequence, byte[] data, SocketAddress to, boolean forward) {
            this.deliverAtNanos = deliverAtNanos;
            this.sequence = sequence;
            this.data = data;
            this.to = to;
            this.forward = forward;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(deliverAtNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            Datagram o = (Datagram) other;
            int byTime = Long.compare(deliverAtNanos - o.deliverAtNanos, 0);
            return byTime != 0 ? byTime : Long.compare(sequence, o.sequence);
        }
    }
}
