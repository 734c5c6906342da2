package io.ferry.transport.frame;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Checks and unpacks one {@link BlockFrame}; called by the frontend's receiver for every frame off the wire.
 * Not thread-safe; reusable: every accessor refers to the last {@link #decode} and its arrays are overwritten by the next.
 * Bad input is reported as a {@link DecodeResult}, never thrown.
 */
public final class BlockFrameDecoder {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final int maxBlockBytes;
    private final int maxFrameLength;
    // The safe decompressor never reads or writes outside the given ranges, whatever the input.
    private final LZ4SafeDecompressor decompressor = LZ4Factory.fastestInstance().safeDecompressor();
    private final byte[] frame;
    private final UnsafeBuffer frameView;
    private final byte[] block;
    private final byte[] hash = new byte[BlockFrame.HASH_LENGTH];
    private final CRC32C crc = new CRC32C();

    private boolean headerReadable;
    private FrameKind kind;
    private int stream;
    private long volumeKey;
    private long requestId;
    private long blockIndex;
    private int blockLength;
    private int payloadLength;

    public BlockFrameDecoder(int maxBlockBytes) {
        this.maxBlockBytes = maxBlockBytes;
        this.maxFrameLength = BlockFrame.maxFrameLength(maxBlockBytes);
        this.frame = new byte[maxFrameLength];
        this.frameView = new UnsafeBuffer(frame);
        this.block = new byte[maxBlockBytes];
    }

    /**
     * Validates version, kind, stream, lengths and CRC, then unpacks the payload (decompressing LZ4).
     * After a failure the header fields are filled when {@link #headerReadable()}, but they are unverified:
     * use them only to pick a block to fetch again.
     */
    public DecodeResult decode(DirectBuffer buffer, int offset, int length) {
        clear();
        if (offset < 0 || length < 0 || (long) offset + length > buffer.capacity()) {
            return DecodeResult.BAD_LENGTH;
        }
        if (length < BlockFrame.HEADER_LENGTH) {
            return DecodeResult.TRUNCATED;
        }
        if (length > maxFrameLength) {
            readHeader(buffer, offset);
            return DecodeResult.BAD_LENGTH;
        }
        buffer.getBytes(offset, frame, 0, length);
        if (!readHeader(frameView, 0)) {
            return DecodeResult.BAD_VERSION;
        }
        if (kind == null || (stream != BlockFrame.STREAM_ON_DEMAND && stream != BlockFrame.STREAM_BACKGROUND)) {
            return DecodeResult.BAD_KIND;
        }
        if (blockLength < 1 || blockLength > maxBlockBytes || !payloadLengthFits()) {
            return DecodeResult.BAD_LENGTH;
        }
        int frameLength = BlockFrame.HEADER_LENGTH + payloadLength;
        if (length < frameLength) {
            return DecodeResult.TRUNCATED;
        }
        if (length > frameLength) {
            return DecodeResult.BAD_LENGTH;
        }
        int expectedCrc = frameView.getInt(BlockFrame.CRC_OFFSET, LE);
        frameView.putInt(BlockFrame.CRC_OFFSET, 0, LE);
        crc.reset();
        crc.update(frame, 0, frameLength);
        if ((int) crc.getValue() != expectedCrc) {
            return DecodeResult.BAD_CRC;
        }
        switch (kind) {
            case ZERO -> Arrays.fill(block, 0, blockLength, (byte) 0);
            case REF -> System.arraycopy(frame, BlockFrame.HEADER_LENGTH, hash, 0, BlockFrame.HASH_LENGTH);
            case RAW -> System.arraycopy(frame, BlockFrame.HEADER_LENGTH, block, 0, blockLength);
            case LZ4 -> {
                int n;
                try {
                    n = decompressor.decompress(frame, BlockFrame.HEADER_LENGTH, payloadLength, block, 0, blockLength);
                } catch (LZ4Exception e) {
                    return DecodeResult.BAD_PAYLOAD;
                }
                if (n != blockLength) {
                    return DecodeResult.BAD_PAYLOAD;
                }
            }
            default -> throw new IllegalStateException("unhandled kind " + kind);
        }
        return DecodeResult.OK;
    }

    private boolean payloadLengthFits() {
        return switch (kind) {
            case ZERO -> payloadLength == 0;
            case REF -> payloadLength == BlockFrame.HASH_LENGTH;
            case LZ4 -> payloadLength >= 1 && payloadLength < blockLength;
            case RAW -> payloadLength == blockLength;
        };
    }

    private boolean readHeader(DirectBuffer buffer, int offset) {
        if ((buffer.getByte(offset + BlockFrame.VERSION_OFFSET) & 0xFF) != BlockFrame.VERSION) {
            return false;
        }
        headerReadable = true;
        kind = FrameKind.fromCode(buffer.getByte(offset + BlockFrame.KIND_OFFSET) & 0xFF);
        stream = buffer.getByte(offset + BlockFrame.STREAM_OFFSET) & 0xFF;
        volumeKey = buffer.getLong(offset + BlockFrame.VOLUME_KEY_OFFSET, LE);
        requestId = buffer.getLong(offset + BlockFrame.REQUEST_ID_OFFSET, LE);
        blockIndex = buffer.getLong(offset + BlockFrame.BLOCK_INDEX_OFFSET, LE);
        blockLength = buffer.getInt(offset + BlockFrame.BLOCK_LENGTH_OFFSET, LE);
        payloadLength = buffer.getInt(offset + BlockFrame.PAYLOAD_LENGTH_OFFSET, LE);
        return true;
    }

    /**
     * Fills the header fields from a sealed frame's clear header after it failed, so the caller
     * can pick the block to fetch again; the fields are as unverified as after any failure.
     */
    void unverified(int stream, long volumeKey, long requestId, long blockIndex) {
        clear();
        this.headerReadable = true;
        this.stream = stream;
        this.volumeKey = volumeKey;
        this.requestId = requestId;
        this.blockIndex = blockIndex;
    }

    private void clear() {
        headerReadable = false;
        kind = null;
        stream = -1;
        volumeKey = 0;
        requestId = 0;
        blockIndex = -1;
        blockLength = 0;
        payloadLength = 0;
    }

    /** Whether the last frame had a version-1 header, so the fields below hold something (unverified after a failure). */
    public boolean headerReadable() {
        return headerReadable;
    }

    /** Kind of the last frame; null when the header was unreadable or the kind byte out of range. */
    public FrameKind kind() {
        return kind;
    }

    /** 0 on-demand, 1 background; -1 when the header was unreadable. */
    public int stream() {
        return stream;
    }

    public long volumeKey() {
        return volumeKey;
    }

    public long requestId() {
        return requestId;
    }

    /** Block index of the last frame; -1 when the header was unreadable. */
    public long blockIndex() {
        return blockIndex;
    }

    public int blockLength() {
        return blockLength;
    }

    /** Payload bytes of the last frame (after the header): what it cost on the wire beyond the header. */
    public int payloadLength() {
        return payloadLength;
    }

    /** After OK with kind REF: the 32-byte SHA-256 (reused by the next decode). */
    public byte[] hash() {
        return hash;
    }

    /**
     * After OK with kind ZERO, LZ4 or RAW: the block in {@code [0, blockLength())} (zeros for ZERO).
     * Not meaningful for REF: the receiver looks the hash up in its store. Reused by the next decode.
     */
    public byte[] blockBytes() {
        return block;
    }

    /** A copy of the block ({@link #blockBytes()} up to {@link #blockLength()}) the caller may keep. */
    public byte[] copyBlock() {
        return Arrays.copyOf(block, blockLength);
    }
}
