package io.ferry.transport.shaping;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP relay that puts a {@link LinkProfile}'s delay and bandwidth on TCP traffic, so the benchmark's full-copy
 * baseline ({@code nbdcopy} against an NBD server) crosses the same emulated WAN as Ferry's UDP block link. Unlike
 * {@link LinkEmulator} both directions are paced, each on its own virtual clock (a full-duplex link), because a copy
 * that reads from the far side moves its data in the reply direction. Loss and the queue limit are ignored: the
 * relay's TCP sockets retransmit on loopback anyway, so the bounded buffer back-pressures the sender instead.
 *
 * <p>Per accepted connection: one connection to {@code forwardTo} and, per direction, a reader that stamps each chunk
 * with its delivery time into a bounded ring and a writer that sends it when due.
 */
public final class TcpLinkEmulator implements AutoCloseable {

    /** Connections relayed at once; further ones are closed on accept. */
    static final int CONNECTIONS_MAX = 64;
    /** Time allowed to connect to {@code forwardTo} for each accepted connection. */
    static final int CONNECT_TIMEOUT_MILLIS = 10_000;
    /** How long close() waits for each thread. */
    static final long JOIN_TIMEOUT_MILLIS = 5_000;
    /** Ring per direction never smaller than this, so an unshaped relay still moves big reads in few chunks. */
    static final int RING_BYTES_MIN = 256 * 1024;
    /**
     * Ring per direction never larger than this; it is also what an unlimited-bandwidth link with a delay holds in
     * flight, so such a link carries at most this many bytes per one-way delay.
     */
    static final int RING_BYTES_MAX = 16 << 20;
    /** Room for a sender's burst on top of the bytes in flight on a rate-limited link. */
    static final int BACKLOG_BYTES = 1 << 20;
    /** Largest chunk read at once; smaller on slow links so one chunk takes about {@link #CHUNK_NANOS} to send. */
    static final int CHUNK_BYTES_MAX = 64 * 1024;
    static final int CHUNK_BYTES_MIN = 4 * 1024;
    static final long CHUNK_NANOS = 1_000_000;
    /** Chunks held per direction; many tiny writes (request headers) fill this before the bytes run out. */
    static final int CHUNKS_MAX = 4096;

    private static final Logger log = LoggerFactory.getLogger(TcpLinkEmulator.class);

    private final ServerSocket listener;
    private final InetSocketAddress forwardTo;
    private final LinkProfile profile;
    private final int port;
    private final int ringBytes;
    private final int chunkBytes;
    private final Thread acceptor;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong bytesForwarded = new AtomicLong();
    private volatile boolean closed;
    /** The acceptor's connect to forwardTo in progress, closed by close() so the acceptor need not wait it out. */
    private volatile Socket connecting;
    private int nextConnectionId;

    /**
     * One clock per direction for every connection when the link is shared ({@link #startShared}): several
     * connections then split the bandwidth as on one real link. Null: each connection has a link of its own.
     */
    private final PaceClock sharedUp;
    private final PaceClock sharedDown;

    private TcpLinkEmulator(ServerSocket listener, InetSocketAddress forwardTo, LinkProfile profile) {
        this(listener, forwardTo, profile, false);
    }

    private TcpLinkEmulator(ServerSocket listener, InetSocketAddress forwardTo, LinkProfile profile, boolean shared) {
        this.sharedUp = shared ? new PaceClock() : null;
        this.sharedDown = shared ? new PaceClock() : null;
        this.listener = listener;
        this.forwardTo = forwardTo;
        this.profile = profile;
        this.port = listener.getLocalPort();
        this.ringBytes = ringBytes(profile);
        this.chunkBytes = chunkBytes(profile);
        this.acceptor = daemon(this::acceptLoop, "ferry-tcp-link-" + port + "-accept");
    }

    /** Listens on a free TCP port of {@code host} and relays each connection to {@code forwardTo} (resolved). */
    public static TcpLinkEmulator start(String host, InetSocketAddress forwardTo, LinkProfile profile)
            throws IOException {
        return start(host, forwardTo, profile, false);
    }

    /**
     * Like {@link #start}, but every relayed connection crosses the same link: their bytes share one bandwidth per
     * direction (a client that opens several connections gets no more than one would).
     */
    public static TcpLinkEmulator startShared(String host, InetSocketAddress forwardTo, LinkProfile profile)
            throws IOException {
        return start(host, forwardTo, profile, true);
    }

    private static TcpLinkEmulator start(String host, InetSocketAddress forwardTo, LinkProfile profile, boolean shared)
            throws IOException {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(forwardTo, "forwardTo");
        Objects.requireNonNull(profile, "profile");
        if (forwardTo.isUnresolved()) {
            throw new IllegalArgumentException("forwardTo must be resolved, got " + forwardTo);
        }
        ServerSocket listener = new ServerSocket();
        try {
            listener.bind(new InetSocketAddress(host, 0), CONNECTIONS_MAX);
        } catch (IOException e) {
            listener.close();
            throw e;
        }
        TcpLinkEmulator emulator = new TcpLinkEmulator(listener, forwardTo, profile, shared);
        emulator.acceptor.start();
        log.info("tcp link emulator port={} forwardTo={} profile={} ringBytes={} chunkBytes={}", emulator.port,
                forwardTo, profile, emulator.ringBytes, emulator.chunkBytes);
        return emulator;
    }

    public int port() {
        return port;
    }

    /** Bytes delivered to either end, both directions. */
    public long bytesForwarded() {
        return bytesForwarded.get();
    }

    /** Closes the listener and every relayed connection (undelivered bytes are dropped) and joins all threads. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(listener);
        Socket pending = connecting;
        if (pending != null) {
            closeQuietly(pending);
        }
        join(acceptor);
        List<Connection> open = new ArrayList<>(connections);
        open.forEach(Connection::abort);
        open.forEach(Connection::join);
        connections.clear();
        log.info("tcp link emulator closed port={} bytesForwarded={}", port, bytesForwarded.get());
    }

    /** In flight on the link plus a backlog; with unlimited bandwidth, the cap. */
    static int ringBytes(LinkProfile profile) {
        long bits = profile.bandwidthBitsPerSecond();
        if (bits == 0) {
            return profile.oneWayDelay().isZero() ? RING_BYTES_MIN : RING_BYTES_MAX;
        }
        double inFlightBytes = bits / 8.0 * profile.oneWayDelay().toNanos() / 1e9;
        long wanted = (long) Math.ceil(inFlightBytes) + BACKLOG_BYTES;
        return (int) Math.max(RING_BYTES_MIN, Math.min(RING_BYTES_MAX, wanted));
    }

    static int chunkBytes(LinkProfile profile) {
        long bits = profile.bandwidthBitsPerSecond();
        long perChunk = bits == 0 ? CHUNK_BYTES_MAX : (long) (bits / 8.0 * CHUNK_NANOS / 1e9);
        return (int) Math.max(CHUNK_BYTES_MIN, Math.min(CHUNK_BYTES_MAX, perChunk));
    }

    private void acceptLoop() {
        while (!closed) {
            Socket near;
            try {
                near = listener.accept();
            } catch (IOException e) {
                if (!closed) {
                    log.error("tcp link emulator accept failed, listener stops port={}", port, e);
                }
                return;
            }
            int id = ++nextConnectionId;
            connections.removeIf(Connection::finished);
            if (connections.size() >= CONNECTIONS_MAX) {
                log.warn("tcp link emulator refused a connection, limit reached port={} conn={} connectionsMax={}",
                        port, id, CONNECTIONS_MAX);
                closeQuietly(near);
                continue;
            }
            Socket far = new Socket();
            connecting = far;
            try {
                if (closed) {
                    throw new IOException("emulator closed");
                }
                near.setTcpNoDelay(true);
                far.setTcpNoDelay(true);
                far.connect(forwardTo, CONNECT_TIMEOUT_MILLIS);
            } catch (IOException e) {
                connecting = null;
                if (closed) {
                    closeQuietly(near);
                    closeQuietly(far);
                    return;
                }
                log.warn("tcp link emulator cannot reach forwardTo port={} conn={} forwardTo={}: {}", port, id,
                        forwardTo, e.toString());
                closeQuietly(near);
                closeQuietly(far);
                continue;
            }
            connecting = null;
            Connection connection = new Connection(id, near, far);
            connections.add(connection);
            // close() may have run between accept and add; it must not miss this connection's threads.
            if (closed) {
                connection.abort();
                return;
            }
            connection.start();
        }
    }

    /** When a direction of the link is free again: bytes read at {@code now} leave after those before them. */
    static final class PaceClock {
        private long freeAtNanos;

        /** Takes {@code nanos} of the link from when it is next free (not before {@code now}); returns when they are sent. */
        synchronized long send(long now, long nanos) {
            freeAtNanos = Math.max(now, freeAtNanos) + nanos;
            return freeAtNanos;
        }
    }

    /** One relayed connection: near is the accepted client, far the connection to {@code forwardTo}. */
    private final class Connection {
        private final int id;
        private final Socket near;
        private final Socket far;
        private final Direction up;
        private final Direction down;
        private final List<Thread> threads = new ArrayList<>(4);
        private final AtomicInteger directionsDone = new AtomicInteger();
        private volatile boolean started;

        Connection(int id, Socket near, Socket far) {
            this.id = id;
            this.near = near;
            this.far = far;
            this.up = new Direction("up", near, far, sharedUp == null ? new PaceClock() : sharedUp);
            this.down = new Direction("down", far, near, sharedDown == null ? new PaceClock() : sharedDown);
            String prefix = "ferry-tcp-link-" + port + "-" + id + "-";
            for (Direction d : List.of(up, down)) {
                threads.add(daemon(d::readLoop, prefix + d.name + "-read"));
                threads.add(daemon(d::writeLoop, prefix + d.name + "-write"));
            }
        }

        void start() {
            started = true;
            threads.forEach(Thread::start);
            log.debug("tcp link emulator connection open port={} conn={} remote={}", port, id,
                    near.getRemoteSocketAddress());
        }

        boolean finished() {
            return started && threads.stream().noneMatch(Thread::isAlive);
        }

        /** A direction delivered its end of stream; when both have, the connection is over. */
        void directionDone() {
            if (directionsDone.incrementAndGet() == 2) {
                abort();
            }
        }

        void abort() {
            closeQuietly(near);
            closeQuietly(far);
            up.ring.close();
            down.ring.close();
        }

        void join() {
            if (started) {
                threads.forEach(TcpLinkEmulator::join);
            }
        }

        /** Bytes from {@code from} to {@code to}: read, stamped with their delivery time, held in the ring, sent. */
        private final class Direction {
            final String name;
            final Socket from;
            final Socket to;
            final DelayRing ring = new DelayRing(ringBytes);
            /** When the link finishes sending what was read so far (this connection's, or the shared link's). */
            private final PaceClock clock;

            Direction(String name, Socket from, Socket to, PaceClock clock) {
                this.name = name;
                this.from = from;
                this.to = to;
                this.clock = clock;
            }

            void readLoop() {
                long delayNanos = profile.oneWayDelay().toNanos();
                double nanosPerByte = profile.bandwidthBitsPerSecond() == 0 ? 0
                        : 8e9 / profile.bandwidthBitsPerSecond();
                try {
                    InputStream in = from.getInputStream();
                    while (true) {
                        int space = ring.awaitSpace(chunkBytes);
                        if (space < 0) {
                            return;
                        }
                        int n = in.read(ring.bytes, ring.writeIndex(), space);
                        long now = System.nanoTime();
                        if (n < 0) {
                            ring.commit(DelayRing.END_OF_STREAM, clock.send(now, 0) + delayNanos);
                            return;
                        }
                        ring.commit(n, clock.send(now, (long) (n * nanosPerByte)) + delayNanos);
                    }
                } catch (IOException e) {
                    if (!closed) {
                        log.debug("tcp link emulator connection ends port={} conn={} dir={}: {}", port, id, name,
                                e.toString());
                    }
                    abort();
                }
            }

            void writeLoop() {
                try {
                    OutputStream out = to.getOutputStream();
                    while (true) {
                        int length = ring.awaitDue();
                        if (length == DelayRing.CLOSED) {
                            return;
                        }
                        if (length == DelayRing.END_OF_STREAM) {
                            to.shutdownOutput();
                            directionDone();
                            return;
                        }
                        out.write(ring.bytes, ring.readIndex(), length);
                        bytesForwarded.addAndGet(length);
                        ring.release(length);
                    }
                } catch (IOException e) {
                    if (!closed) {
                        log.debug("tcp link emulator connection ends port={} conn={} dir={}: {}", port, id, name,
                                e.toString());
                    }
                    abort();
                }
            }
        }
    }

    /**
     * A single-producer single-consumer byte ring with a delivery time per chunk. The reader reads straight into the
     * free contiguous space and commits; the writer waits until the oldest chunk is due, sends it from the ring and
     * releases it. Chunks never wrap, so each is one contiguous slice. A full ring blocks the reader, which stops
     * reading its socket, which back-pressures the sender through TCP.
     */
    static final class DelayRing {
        static final int CLOSED = -1;
        static final int END_OF_STREAM = -2;

        final byte[] bytes;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition notFull = lock.newCondition();
        private final Condition notEmpty = lock.newCondition();
        /** Chunk lengths (END_OF_STREAM for the end) and delivery times in a ring of their own, oldest at head. */
        private final int[] chunkLengths = new int[CHUNKS_MAX];
        private final long[] chunkDueNanos = new long[CHUNKS_MAX];
        private int chunkHead;
        private int chunkCount;
        /** Total bytes committed and released; index = position % capacity. */
        private long written;
        private long read;
        private boolean closed;

        DelayRing(int capacityBytes) {
            this.bytes = new byte[capacityBytes];
        }

        /** Blocks until there is contiguous free space and a free chunk slot; returns up to {@code max}, or CLOSED. */
        int awaitSpace(int max) {
            lock.lock();
            try {
                while (true) {
                    if (closed) {
                        return CLOSED;
                    }
                    long free = bytes.length - (written - read);
                    int contiguous = (int) Math.min(free, bytes.length - writeIndex());
                    if (contiguous > 0 && chunkCount < CHUNKS_MAX) {
                        return Math.min(max, contiguous);
                    }
                    notFull.awaitUninterruptibly();
                }
            } finally {
                lock.unlock();
            }
        }

        /** Reader only, between awaitSpace and commit; written changes only on the reader's thread. */
        int writeIndex() {
            return (int) (written % bytes.length);
        }

        /**
         * Publishes {@code length} bytes read at writeIndex (or END_OF_STREAM) due at the given time; called only
         * after awaitSpace, which guaranteed the chunk slot.
         */
        void commit(int length, long deliverAtNanos) {
            lock.lock();
            try {
                if (length > 0) {
                    written += length;
                }
                int slot = (chunkHead + chunkCount) % CHUNKS_MAX;
                chunkLengths[slot] = length;
                chunkDueNanos[slot] = deliverAtNanos;
                chunkCount++;
                notEmpty.signal();
            } finally {
                lock.unlock();
            }
        }

        /** Blocks until the oldest chunk is due; returns its length, END_OF_STREAM or CLOSED. */
        int awaitDue() {
            lock.lock();
            try {
                while (true) {
                    if (closed) {
                        return CLOSED;
                    }
                    if (chunkCount == 0) {
                        notEmpty.awaitUninterruptibly();
                        continue;
                    }
                    long wait = chunkDueNanos[chunkHead] - System.nanoTime();
                    if (wait <= 0) {
                        return chunkLengths[chunkHead];
                    }
                    try {
                        notEmpty.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return CLOSED;
                    }
                }
            } finally {
                lock.unlock();
            }
        }

        /** Writer only, between awaitDue and release; read changes only on the writer's thread. */
        int readIndex() {
            return (int) (read % bytes.length);
        }

        /** Frees the oldest chunk after it was sent. */
        void release(int length) {
            lock.lock();
            try {
                if (chunkCount == 0 || chunkLengths[chunkHead] != length) {
                    throw new IllegalStateException("writer released " + length + " bytes but the oldest chunk is "
                            + (chunkCount == 0 ? "missing" : chunkLengths[chunkHead] + " bytes"));
                }
                chunkHead = (chunkHead + 1) % CHUNKS_MAX;
                chunkCount--;
                read += length;
                notFull.signal();
            } finally {
                lock.unlock();
            }
        }

        void close() {
            lock.lock();
            try {
                closed = true;
                notFull.signalAll();
                notEmpty.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private static Thread daemon(Runnable body, String name) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    private static void join(Thread thread) {
        if (thread == Thread.currentThread()) {
            return;
        }
        try {
            thread.join(JOIN_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (thread.isAlive()) {
            log.warn("tcp link emulator thread did not stop within {} ms thread={}", JOIN_TIMEOUT_MILLIS,
                    thread.getName());
        }
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception ignored) {
            // closing is best effort; the socket is gone either way
        }
    }
}
