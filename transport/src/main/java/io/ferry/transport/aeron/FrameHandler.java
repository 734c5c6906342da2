package io.ferry.transport.aeron;

import io.ferry.transport.frame.BlockFrameDecoder;
import io.ferry.transport.frame.DecodeResult;

/**
 * What a {@link BlockReceiver} calls with each frame, on its polling thread; the decoder and its arrays are reused for
 * the next frame, so copy what must be kept. A slow handler delays every later frame, on-demand ones included.
 */
public interface FrameHandler {
    void onFrame(BlockStream stream, BlockFrameDecoder frame);

    /** A frame failed its checks; when {@code partial.headerReadable()} its (unverified) ids say which block to fetch again. */
    void onCorrupt(BlockStream stream, DecodeResult result, BlockFrameDecoder partial);
}
