package io.ferry.transport.aeron;

import io.ferry.transport.frame.BlockFrame;

/** The two Aeron streams of a block channel: on-demand replies never queue behind background prefetch. */
public enum BlockStream {
    ON_DEMAND(1001, BlockFrame.STREAM_ON_DEMAND),
    BACKGROUND(1002, BlockFrame.STREAM_BACKGROUND);

    private final int streamId;
    private final int frameCode;

    BlockStream(int streamId, int frameCode) {
        this.streamId = streamId;
        this.frameCode = frameCode;
    }

    /** Aeron stream id. */
    public int streamId() {
        return streamId;
    }

    /** Value of the frame header's stream byte for blocks sent on this stream. */
    public int frameCode() {
        return frameCode;
    }
}
