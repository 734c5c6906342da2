package io.ferry.transport.aeron;

import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.ferry.transport.frame.SealedFrameDecoder;
import io.ferry.transport.frame.DecodeResult;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.IdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frontend's end of a block channel: polls both stream subscriptions on one daemon thread and hands each decoded
 * frame to a {@link FrameHandler}. Made by {@link BlockTransport#receive}.
 */
public final class BlockReceiver implements AutoCloseable {
    /** Fragments taken from ON_DEMAND per duty cycle before BACKGROUND gets a turn; bounds a cycle, not a priority. */
    static final int ON_DEMAND_FRAGMENT_LIMIT = 1024;
    /** Fragments taken from BACKGROUND per duty cycle, so a flood cannot hold off an on-demand frame for long. */
    static final int BACKGROUND_FRAGMENT_LIMIT = 64;

    private static final Logger log = LoggerFactory.getLogger(BlockReceiver.class);

    private final String host;
    private final int port;
    private final Subscription onDemand;
    private final Subscription background;
    private final AgentRunner runner;
    private final AtomicLong[] frames = {new AtomicLong(), new AtomicLong()};
    private final AtomicLong[] bytes = {new AtomicLong(), new AtomicLong()};
    private final AtomicLong corrupt = new AtomicLong();
    private final AtomicLong authFailed = new AtomicLong();
    private final AtomicLong replayed = new AtomicLong();

    BlockReceiver(String host, int port, Subscription onDemand, Subscription background, FrameHandler handler,
                  SealedFrameDecoder decoder, IdleStrategy idleStrategy) {
        this.host = host;
        this.port = port;
        this.onDemand = onDemand;
        this.background = background;
        this.runner = new AgentRunner(idleStrategy,
            t -> log.error("block receiver endpoint={} handler failed", endpoint(), t),
            null, new Poller(handler, decoder));
        AgentRunner.startOnThread(runner, r -> {
            Thread thread = new Thread(r, "ferry-block-receiver-" + port);
            thread.setDaemon(true);
            return thread;
        });
    }

    public int port() {
        return port;
    }

    /** {@code host:port} a sender connects to. */
    public String endpoint() {
        return host + ":" + port;
    }

    /** Frames that decoded OK on that stream. */
    public long framesReceived(BlockStream stream) {
        return frames[stream.ordinal()].get();
    }

    /** Bytes of frames that decoded OK on that stream. */
    public long bytesReceived(BlockStream stream) {
        return bytes[stream.ordinal()].get();
    }

    /** Frames on either stream that failed their checks (of any kind, authentication and replay included). */
    public long corruptFrames() {
        return corrupt.get();
    }

    /** Sealed frames that did not authenticate (tampered, no key), and plain frames for a sealed volume. */
    public long authFailedFrames() {
        return authFailed.get();
    }

    /** Sealed frames whose counter was not above their stream's last: replayed or reordered. */
    public long replayedFrames() {
        return replayed.get();
    }

    /** Stops the polling thread (waiting for it) and closes the subscriptions. */
    @Override
    public void close() {
        CloseHelper.closeAll(runner, onDemand, background);
    }

    private final class Poller implements Agent {
        private final SealedFrameDecoder decoder;
        private final FrameHandler handler;
        private final FragmentAssembler onDemandAssembler;
        private final FragmentAssembler backgroundAssembler;

        Poller(FrameHandler handler, SealedFrameDecoder decoder) {
            this.handler = handler;
            this.decoder = decoder;
            this.onDemandAssembler = new FragmentAssembler(
                (buffer, offset, length, header) -> onMessage(BlockStream.ON_DEMAND, buffer, offset, length));
            this.backgroundAssembler = new FragmentAssembler(
                (buffer, offset, length, header) -> onMessage(BlockStream.BACKGROUND, buffer, offset, length));
        }

        @Override
        public int doWork() {
            int work = 0;
            int polled;
            do {
                polled = onDemand.poll(onDemandAssembler, ON_DEMAND_FRAGMENT_LIMIT - work);
                work += polled;
            } while (polled > 0 && work < ON_DEMAND_FRAGMENT_LIMIT);
            return work + background.poll(backgroundAssembler, BACKGROUND_FRAGMENT_LIMIT);
        }

        private void onMessage(BlockStream stream, DirectBuffer buffer, int offset, int length) {
            DecodeResult result = decoder.decode(buffer, offset, length);
            if (result == DecodeResult.OK) {
                AtomicLong f = frames[stream.ordinal()];
                f.lazySet(f.get() + 1);
                AtomicLong b = bytes[stream.ordinal()];
                b.lazySet(b.get() + length);
                handler.onFrame(stream, decoder.frame());
            } else {
                corrupt.lazySet(corrupt.get() + 1);
                if (result == DecodeResult.BAD_AUTH) {
                    authFailed.lazySet(authFailed.get() + 1);
                } else if (result == DecodeResult.REPLAYED) {
                    replayed.lazySet(replayed.get() + 1);
                }
                handler.onCorrupt(stream, result, decoder.frame());
            }
        }

        @Override
        public String roleName() {
            return "ferry-block-receiver-" + port;
        }
    }
}
