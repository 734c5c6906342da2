package io.ferry.transport.frame;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Turns one block into one {@link BlockFrame}, choosing ZERO, REF, LZ4 or RAW; called by the backend's sender.
 * Not thread-safe: one per sending thread. Reuses its buffers, so encoding allocates nothing.
 */
public final class BlockFrameEncoder {
    /** LZ4 is sent only when it saves at least this fraction of the block; below that the decompression is not worth it. */
    public static final double DEFAULT_LZ4_SAVING_MIN = 0.125;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final int maxBlockBytes;
    private final double lz4SavingMin;
    private final LZ4Compressor compressor = LZ4Factory.fastestInstance().fastCompressor();
    private final byte[] zeros;
    private final byte[] frame;
    private final UnsafeBuffer frameView;
    private final CRC32C crc = new CRC32C();
    private FrameKind lastKind;
    private int lastPayloadBytes;

    public BlockFrameEncoder(int maxBlockBytes) {
        this(maxBlockBytes, DEFAULT_LZ4_SAVING_MIN);
    }

    public BlockFrameEncoder(int maxBlockBytes, double lz4SavingMin) {
        BlockFrame.checkMaxBlockBytes(maxBlockBytes);
        if (!(lz4SavingMin >= 0.0 && lz4SavingMin < 1.0)) {
            throw new IllegalArgumentException("lz4SavingMin must be in [0, 1), got " + lz4SavingMin);
        }
        this.maxBlockBytes = maxBlockBytes;
        this.lz4SavingMin = lz4SavingMin;
        this.zeros = new byte[maxBlockBytes];
        // LZ4 may expand incompressible input; compress into room for that, then fall back to RAW.
        this.frame = new byte[BlockFrame.HEADER_LENGTH + compressor.maxCompressedLength(maxBlockBytes)];
        this.frameView = new UnsafeBuffer(frame);
    }

    public static int maxFrameLength(int maxBlockBytes) {
        return BlockFrame.maxFrameLength(maxBlockBytes);
    }

    /**
     * Encodes bytes {@code [0, length)} of {@code block} into {@code out} at {@code offset}, which must have room for
     * {@link #maxFrameLength}. All-zero blocks go as ZERO; else, when {@code targetHasHash}, {@code sha256} goes as
     * REF; else LZ4 when it saves at least the configured fraction, else RAW.
     *
     * @return the frame length written
     */
    public int encode(int stream, long volumeKey, long requestId, long blockIndex, byte[] block, int length,
                      byte[] sha256, boolean targetHasHash, MutableDirectBuffer out, int offset) {
        if (length < 1 || length > maxBlockBytes || length > block.length) {
            throw new IllegalArgumentException("block length must be 1.." + maxBlockBytes
                + " and within the array (" + block.length + "), got " + length);
        }
        if (stream != BlockFrame.STREAM_ON_DEMAND && stream != BlockFrame.STREAM_BACKGROUND) {
            throw new IllegalArgumentException("stream must be 0 (on-demand) or 1 (background), got " + stream);
        }
        final int payloadOffset = BlockFrame.HEADER_LENGTH;
        final FrameKind kind;
        final int payloadLength;
        if (Arrays.mismatch(block, 0, length, zeros, 0, length) < 0) {
            kind = FrameKind.ZERO;
            payloadLength = 0;
        } else if (targetHasHash) {
            if (sha256 == null || sha256.length != BlockFrame.HASH_LENGTH) {
                throw new IllegalArgumentException("REF needs a 32-byte SHA-256, got "
                    + (sha256 == null ? "null" : sha256.length + " bytes"));
            }
            kind = FrameKind.REF;
            payloadLength = BlockFrame.HASH_LENGTH;
            System.arraycopy(sha256, 0, frame, payloadOffset, BlockFrame.HASH_LENGTH);
        } else {
            int compressed = compressor.compress(block, 0, length, frame, payloadOffset, frame.length - payloadOffset);
            int worthIt = length - (int) Math.ceil(length * lz4SavingMin);
            if (compressed < length && compressed <= worthIt) {
                kind = FrameKind.LZ4;
                payloadLength = compressed;
            } else {
                kind = FrameKind.RAW;
                payloadLength = length;
                System.arraycopy(block, 0, frame, payloadOffset, length);
            }
        }
        frameView.putByte(BlockFrame.VERSION_OFFSET, (byte) BlockFrame.VERSION);
        frameView.putByte(BlockFrame.KIND_OFFSET, (byte) kind.ordinal());
        frameView.putByte(BlockFrame.STREAM_OFFSET, (byte) stream);
        frameView.putByte(BlockFrame.FLAGS_OFFSET, (byte) 0);
        frameView.putLong(BlockFrame.VOLUME_KEY_OFFSET, volumeKey, LE);
        frameView.putLong(BlockFrame.REQUEST_ID_OFFSET, requestId, LE);
        frameView.putLong(BlockFrame.BLOCK_INDEX_OFFSET, blockIndex, LE);
        frameView.putInt(BlockFrame.BLOCK_LENGTH_OFFSET, length, LE);
        frameView.putInt(BlockFrame.PAYLOAD_LENGTH_OFFSET, payloadLength, LE);
        frameView.putInt(BlockFrame.CRC_OFFSET, 0, LE);
        int frameLength = BlockFrame.HEADER_LENGTH + payloadLength;
        crc.reset();
        crc.update(frame, 0, frameLength);
        frameView.putInt(BlockFrame.CRC_OFFSET, (int) crc.getValue(), LE);
        out.putBytes(offset, frame, 0, frameLength);
        lastKind = kind;
        lastPayloadBytes = payloadLength;
        return frameLength;
    }

    /** Kind chosen by the last {@link #encode}. */
    public FrameKind lastKind() {
        return lastKind;
    }

    /** Payload bytes of the last frame (what the block cost on the wire beyond the header). */
    public int lastPayloadBytes() {
        return lastPayloadBytes;
    }
}
