package io.ferry.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.ferry.transport.frame.ChannelKeys;
import io.ferry.transport.frame.SealedFrameDecoder;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.exceptions.RegistrationException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.nio.TransportPoller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One site's end of the block channel: an embedded Aeron media driver and client. The backend {@link #connect}s a
 * {@link BlockSender} to a frontend's {@link #receive} endpoint. Threads: the driver's one shared agent, the client
 * conductor, and one polling agent per receiver; all back off to parking when idle (the machines may be small).
 */
public final class BlockTransport implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BlockTransport.class);

    /** Tries at finding a free UDP port before giving up; each fails only if another process races us to it. */
    static final int FREE_PORT_ATTEMPTS = 5;

    private final TransportSettings settings;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private boolean closed;

    private BlockTransport(TransportSettings settings, MediaDriver driver, Aeron aeron) {
        this.settings = settings;
        this.driver = driver;
        this.aeron = aeron;
    }

    /** Starts the media driver in {@code settings.aeronDir()} (deleting what was there) and connects a client to it. */
    public static BlockTransport start(TransportSettings settings) {
        checkSelectorAccess();
        warnIfSocketBuffersCapped(settings.socketBufferBytes());
        long timeoutMs = settings.driverTimeout().toMillis();
        MediaDriver.Context driverContext = new MediaDriver.Context()
            .aeronDirectoryName(settings.aeronDir().toString())
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .warnIfDirectoryExists(false)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(idleStrategy())
            .termBufferSparseFile(true)
            .publicationTermBufferLength(settings.termLengthBytes())
            .ipcTermBufferLength(TransportSettings.TERM_MIN_BYTES)
            .initialWindowLength(settings.receiverWindowBytes())
            .socketRcvbufLength(settings.socketBufferBytes())
            .socketSndbufLength(settings.socketBufferBytes())
            .driverTimeoutMs(timeoutMs);
        MediaDriver driver = MediaDriver.launch(driverContext);
        try {
            Aeron aeron = Aeron.connect(new Aeron.Context()
                .aeronDirectoryName(driver.aeronDirectoryName())
                .driverTimeoutMs(timeoutMs));
            log.info("block transport started dir={} term={} window={} socketBuffer={}", settings.aeronDir(),
                settings.termLengthBytes(), settings.receiverWindowBytes(), settings.socketBufferBytes());
            return new BlockTransport(settings, driver, aeron);
        } catch (RuntimeException e) {
            CloseHelper.quietClose(driver);
            throw e;
        }
    }

    /**
     * Agrona's TransportPoller, which the media driver loads, reflects into sun.nio.ch.SelectorImpl and fails with an
     * opaque ExceptionInInitializerError when the JVM does not open that package; say what to add instead.
     */
    private static void checkSelectorAccess() {
        if (!Object.class.getModule().isOpen("sun.nio.ch", TransportPoller.class.getModule())) {
            throw new IllegalStateException("the Aeron media driver needs the JVM flag "
                + "--add-opens java.base/sun.nio.ch=ALL-UNNAMED (on the module path: =org.agrona.core)");
        }
    }

    /** Busy when there is work, then yields and parks up to 1 ms: no core is burnt while idle. */
    static IdleStrategy idleStrategy() {
        return new BackoffIdleStrategy(1, 1, TimeUnit.MICROSECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(1));
    }

    public TransportSettings settings() {
        return settings;
    }

    /**
     * Subscribes to both streams on {@code host:port} and starts a daemon thread that polls ON_DEMAND first, draining
     * it, then BACKGROUND. Port 0 picks a free UDP port: Aeron can bind port 0 itself, but a second subscription then
     * cannot share that endpoint (the driver matches endpoints by the channel as asked, port 0), so a port is probed by
     * binding and closing a socket; another process may take it in between, hence a few attempts.
     */
    public synchronized BlockReceiver receive(String host, int port, FrameHandler handler) {
        return receive(host, port, handler, ChannelKeys.NONE);
    }

    /** As above, opening sealed frames with the attachments' keys from {@code keys}. */
    public synchronized BlockReceiver receive(String host, int port, FrameHandler handler, ChannelKeys keys) {
        checkOpen();
        if (port != 0) {
            return subscribe(host, port, handler, keys);
        }
        RegistrationException last = null;
        for (int attempt = 0; attempt < FREE_PORT_ATTEMPTS; attempt++) {
            try {
                return subscribe(host, freeUdpPort(host), handler, keys);
            } catch (RegistrationException e) {
                last = e;
                log.info("probed UDP port taken before Aeron bound it, trying another host={} error={}", host,
                    e.getMessage());
            }
        }
        throw last;
    }

    private BlockReceiver subscribe(String host, int port, FrameHandler handler, ChannelKeys keys) {
        String channel = new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(host + ":" + port)
            .receiverWindowLength(settings.receiverWindowBytes())
            .socketRcvbufLength(settings.socketBufferBytes())
            .build();
        Subscription onDemand = aeron.addSubscription(channel, BlockStream.ON_DEMAND.streamId());
        Subscription background = null;
        try {
            background = aeron.addSubscription(channel, BlockStream.BACKGROUND.streamId());
            BlockReceiver receiver = new BlockReceiver(host, port, onDemand, background, handler,
                new SealedFrameDecoder(settings.maxBlockBytes(), keys), idleStrategy());
            opened.add(receiver);
            log.info("block receiver listening endpoint={}", receiver.endpoint());
            return receiver;
        } catch (RuntimeException e) {
            CloseHelper.quietCloseAll(background, onDemand);
            throw e;
        }
    }

    private static int freeUdpPort(String host) {
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(host, 0))) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind a UDP socket on " + host, e);
        }
    }

    /** Publishes both streams to a receiver's {@code host:port}; offering before it connects returns NOT_CONNECTED. */
    public synchronized BlockSender connect(String host, int port) {
        checkOpen();
        String channel = new ChannelUriStringBuilder()
            .media("udp")
            .endpoint(host + ":" + port)
            .termLength(settings.termLengthBytes())
            .socketSndbufLength(settings.socketBufferBytes())
            .build();
        Publication onDemand = aeron.addPublication(channel, BlockStream.ON_DEMAND.streamId());
        Publication background = null;
        try {
            background = aeron.addPublication(channel, BlockStream.BACKGROUND.streamId());
            BlockSender sender = new BlockSender(onDemand, background);
            opened.add(sender);
            return sender;
        } catch (RuntimeException e) {
            CloseHelper.quietCloseAll(background, onDemand);
            throw e;
        }
    }

    /** Linux caps SO_RCVBUF at net.core.rmem_max; a capped buffer drops bursts the window allows, so say so. */
    private static void warnIfSocketBuffersCapped(int wantedBytes) {
        try (DatagramChannel probe = DatagramChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_RCVBUF, wantedBytes);
            probe.setOption(StandardSocketOptions.SO_SNDBUF, wantedBytes);
            int rcv = probe.getOption(StandardSocketOptions.SO_RCVBUF);
            int snd = probe.getOption(StandardSocketOptions.SO_SNDBUF);
            if (rcv < wantedBytes || snd < wantedBytes) {
                log.warn("socket buffers smaller than the receiver window: wanted={} grantedRcv={} grantedSnd={}; "
                    + "raise net.core.rmem_max and net.core.wmem_max or expect loss at full rate",
                    wantedBytes, rcv, snd);
            }
        } catch (IOException e) {
            log.warn("could not probe socket buffer sizes: {}", e.toString());
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("block transport closed: dir=" + settings.aeronDir());
        }
    }

    /** Closes every receiver and sender made here, then the client and the driver (which deletes its directory). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        CloseHelper.closeAll(() -> CloseHelper.quietCloseAll(opened), aeron, driver);
        log.info("block transport closed dir={}", settings.aeronDir());
    }
}
