package io.ferry.transport.frame;

/**
 * The block frame wire format, the one place it is written down; {@link BlockFrameEncoder} writes it and
 * {@link BlockFrameDecoder} checks it. One frame carries one block and is one Aeron message.
 *
 * <pre>
 * offset  size  field          (all little-endian)
 *      0     1  version        u8, {@value #VERSION}; any other value is rejected (BAD_VERSION)
 *      1     1  kind           u8, FrameKind ordinal: ZERO=0, REF=1, LZ4=2, RAW=3
 *      2     1  stream         u8, 0 on-demand, 1 background
 *      3     1  flags          u8, reserved, 0 in version 1 (covered by the CRC, otherwise ignored)
 *      4     8  volumeKey      i64
 *     12     8  requestId      i64
 *     20     8  blockIndex     i64
 *     28     4  blockLength    i32, uncompressed block length, 1..maxBlockBytes
 *     32     4  payloadLength  i32, ZERO: 0; REF: 32; LZ4: 1..blockLength-1; RAW: blockLength
 *     36     4  crc32c         i32, CRC32C of bytes [0, 40 + payloadLength) with this field taken as 0
 *     40     n  payload        ZERO: none; REF: SHA-256 of the block; LZ4: LZ4 block format; RAW: the bytes
 * </pre>
 *
 * A frame is exactly {@code 40 + payloadLength} bytes: trailing bytes are rejected (BAD_LENGTH), because a
 * frame is a whole Aeron message and anything else means the length fields were damaged.
 */
public final class BlockFrame {
    public static final int VERSION = 1;
    public static final int VERSION_OFFSET = 0;
    public static final int KIND_OFFSET = 1;
    public static final int STREAM_OFFSET = 2;
    public static final int FLAGS_OFFSET = 3;
    public static final int VOLUME_KEY_OFFSET = 4;
    public static final int REQUEST_ID_OFFSET = 12;
    public static final int BLOCK_INDEX_OFFSET = 20;
    public static final int BLOCK_LENGTH_OFFSET = 28;
    public static final int PAYLOAD_LENGTH_OFFSET = 32;
    public static final int CRC_OFFSET = 36;
    public static final int HEADER_LENGTH = 40;
    public static final int HASH_LENGTH = 32;
    public static final int STREAM_ON_DEMAND = 0;
    public static final int STREAM_BACKGROUND = 1;
    /** Largest block a frame may carry: the i32 length fields and Aeron's 16 MiB message cap both hold. */
    public static final int MAX_BLOCK_BYTES_LIMIT = 8 * 1024 * 1024;

    private BlockFrame() {
    }

    /** Longest frame for blocks of at most {@code maxBlockBytes}: LZ4 is only sent when shorter than RAW. */
    public static int maxFrameLength(int maxBlockBytes) {
        checkMaxBlockBytes(maxBlockBytes);
        return HEADER_LENGTH + maxBlockBytes;
    }

    static void checkMaxBlockBytes(int maxBlockBytes) {
        if (maxBlockBytes < 1 || maxBlockBytes > MAX_BLOCK_BYTES_LIMIT) {
            throw new IllegalArgumentException(
                "maxBlockBytes must be between 1 and " + MAX_BLOCK_BYTES_LIMIT + ", got " + maxBlockBytes);
        }
    }
}
