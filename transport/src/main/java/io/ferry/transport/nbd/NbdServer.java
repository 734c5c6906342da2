package io.ferry.transport.nbd;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server (fixed newstyle) that serves {@link NbdExport}s to real clients such as qemu,
 * qemu-img and nbdcopy. One accept thread; per connection one reader thread that runs the
 * handshake and then reads and dispatches requests, and one writer thread that sends replies as
 * the export completes them.
 */
public final class NbdServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
    private static final int ACCEPT_BACKLOG = 64;
    /** How long close() waits for each thread; a thread still alive after that is logged. */
    static final long JOIN_TIMEOUT_MILLIS = 5_000;

    private final NbdServerSettings settings;
    private final Function<String, Optional<NbdExport>> exports;
    private final Supplier<List<String>> exportNames;
    private final ServerSocket listener;
    private final int port;
    private final ScheduledThreadPoolExecutor timer;
    private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
    /**
     * Every connection whose threads may still run: a connection leaves {@link #connections} when it
     * finishes, a moment before its threads end, so close joins these too. Pruned on each accept,
     * so it holds at most the live connections and those that ended since the last accept.
     */
    private final Set<NbdConnection> started = ConcurrentHashMap.newKeySet();
    /** The timer's threads, joined on close: an executor reports termination before its thread is gone. */
    private final Set<Thread> timerThreads = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;
    private int nextConnectionId;

    private NbdServer(NbdServerSettings settings, Function<String, Optional<NbdExport>> exports,
                      Supplier<List<String>> exportNames, ServerSocket listener) {
        this.settings = settings;
        this.exports = exports;
        this.exportNames = exportNames;
        this.listener = listener;
        this.port = listener.getLocalPort();
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = daemon(r, "ferry-nbd-" + port + "-timer");
            timerThreads.add(thread);
            return thread;
        });
        this.timer.setRemoveOnCancelPolicy(true);
        this.acceptor = daemon(this::acceptLoop, "ferry-nbd-" + port + "-accept");
    }

    public static NbdServer start(NbdServerSettings settings, Function<String, Optional<NbdExport>> exports,
                                  Supplier<List<String>> exportNames) throws IOException {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(exports, "exports");
        Objects.requireNonNull(exportNames, "exportNames");
        ServerSocket listener = new ServerSocket();
        try {
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(settings.bindHost(), settings.port()), ACCEPT_BACKLOG);
        } catch (IOException e) {
            listener.close();
            throw e;
        }
        NbdServer server = new NbdServer(settings, exports, exportNames, listener);
        server.acceptor.start();
        LOG.info("nbd server listening address={} maxConnections={} maxInFlight={} maxRequestBytes={}",
                server.address(), settings.maxConnections(), settings.maxInFlightPerConnection(),
                settings.maxRequestBytes());
        return server;
    }

    public int port() {
        return port;
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), port);
    }

    /** Connections currently open, for tests and metrics. */
    int connectionCount() {
        return connections.size();
    }

    /** Closes the listener and every connection (in-flight requests get no reply) and joins threads. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            LOG.debug("nbd listener close failed port={}", port, e);
        }
        join(acceptor);
        for (NbdConnection connection : List.copyOf(connections)) {
            connection.close();
        }
        for (NbdConnection connection : List.copyOf(started)) {
            connection.join();
        }
        timer.shutdownNow();
        timerThreads.forEach(NbdServer::join);
        LOG.info("nbd server closed port={}", port);
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.error("nbd accept failed, listener stops port={}", port, e);
                }
                return;
            }
            int id = ++nextConnectionId;
            // Only this thread adds connections, so the count cannot overshoot between check and add.
            if (connections.size() >= settings.maxConnections()) {
                LOG.warn("nbd connection refused, limit reached port={} conn={} remote={} maxConnections={}",
                        port, id, socket.getRemoteSocketAddress(), settings.maxConnections());
                closeQuietly(socket);
                continue;
            }
            NbdConnection connection = new NbdConnection(id, port, socket, settings, exports, exportNames, timer,
                    connections::remove);
            started.removeIf(NbdConnection::ended);
            started.add(connection);
            connections.add(connection);
            connection.start();
        }
    }

    static Thread daemon(Runnable body, String name) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    static void join(Thread thread) {
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
            LOG.warn("nbd thread did not stop within {} ms thread={}", JOIN_TIMEOUT_MILLIS, thread.getName());
        }
    }

    static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is best effort; the socket is gone either way
        }
    }
}
