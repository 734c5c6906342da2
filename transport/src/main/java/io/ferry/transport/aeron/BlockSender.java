package io.ferry.transport.aeron;

import io.aeron.Publication;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;

/** The backend's handle on a block channel: one Aeron publication per stream. Thread-safe. */
public final class BlockSender implements AutoCloseable {
    private final Publication onDemand;
    private final Publication background;
    private final AtomicLong onDemandBytes = new AtomicLong();
    private final AtomicLong backgroundBytes = new AtomicLong();

    BlockSender(Publication onDemand, Publication background) {
        this.onDemand = onDemand;
        this.background = background;
    }

    /** Offers one frame on {@code stream}. Never throws for back pressure, absent receivers or closing. */
    public OfferResult offer(BlockStream stream, DirectBuffer buffer, int offset, int length) {
        Publication publication = publication(stream);
        if (length > publication.maxMessageLength()) {
            return OfferResult.TOO_LONG;
        }
        long position = publication.offer(buffer, offset, length);
        if (position > 0) {
            counter(stream).getAndAdd(length);
            return OfferResult.OK;
        }
        if (position == Publication.BACK_PRESSURED || position == Publication.ADMIN_ACTION) {
            return OfferResult.BACK_PRESSURED;
        }
        if (position == Publication.NOT_CONNECTED) {
            return OfferResult.NOT_CONNECTED;
        }
        return OfferResult.CLOSED;
    }

    public boolean isConnected(BlockStream stream) {
        return publication(stream).isConnected();
    }

    /** Frame bytes accepted by {@link #offer} on that stream. */
    public long bytesSent(BlockStream stream) {
        return counter(stream).get();
    }

    /** Largest frame {@link #offer} accepts. */
    public int maxMessageLength() {
        return Math.min(onDemand.maxMessageLength(), background.maxMessageLength());
    }

    private Publication publication(BlockStream stream) {
        return stream == BlockStream.ON_DEMAND ? onDemand : background;
    }

    private AtomicLong counter(BlockStream stream) {
        return stream == BlockStream.ON_DEMAND ? onDemandBytes : backgroundBytes;
    }

    @Override
    public void close() {
        CloseHelper.closeAll(onDemand, background);
    }
}
