package io.ferry.transport.frame;

/**
 * The encrypted block frame (version 2), the one place its layout is written down: a whole {@link
 * BlockFrame} (version 1, with its CRC) encrypted and authenticated with AES-GCM under the
 * attachment's key. {@link FrameSealer} writes it, {@link SealedFrameDecoder} opens it.
 *
 * <pre>
 * offset  size  field          (all little-endian; bytes [0, 36) are the GCM additional data)
 *      0     1  version        u8, {@value #VERSION}
 *      1     1  direction      u8, {@value #TO_FRONTEND} backend to frontend (the only one today)
 *      2     1  stream         u8, 0 on-demand, 1 background
 *      3     1  reserved       u8, 0
 *      4     8  volumeKey      i64, picks the receiving volume
 *     12     8  attachId       i64, picks the attachment's key
 *     20     8  blockIndex     i64, in the clear so a frame that fails is fetched again by index
 *     28     8  counter        i64, per stream from 1, strictly increasing
 *     36     n  ciphertext     the version-1 frame, encrypted
 *   36+n    16  tag            GCM tag over additional data and ciphertext
 * </pre>
 *
 * The 96-bit nonce is {@code direction, stream, 0, 0} then the counter: each key (one per
 * attachment, fresh for every attach, used by one sender) never sees a nonce twice. Each stream is
 * one ordered Aeron stream, so a receiver takes only counters above the last it accepted there.
 */
public final class SealedFrame {
    public static final int VERSION = 2;
    public static final int TO_FRONTEND = 0;
    public static final int DIRECTION_OFFSET = 1;
    public static final int STREAM_OFFSET = 2;
    public static final int VOLUME_KEY_OFFSET = 4;
    public static final int ATTACH_ID_OFFSET = 12;
    public static final int BLOCK_INDEX_OFFSET = 20;
    public static final int COUNTER_OFFSET = 28;
    public static final int HEADER_LENGTH = 36;
    public static final int TAG_LENGTH = 16;
    public static final int KEY_LENGTH = 32;
    static final int NONCE_LENGTH = 12;

    private SealedFrame() {
    }

    /** Longest sealed frame for blocks of at most {@code maxBlockBytes}. */
    public static int maxFrameLength(int maxBlockBytes) {
        return HEADER_LENGTH + BlockFrame.maxFrameLength(maxBlockBytes) + TAG_LENGTH;
    }

    static void nonce(byte[] nonce, int direction, int stream, long counter) {
        nonce[0] = (byte) direction;
        nonce[1] = (byte) stream;
        nonce[2] = 0;
        nonce[3] = 0;
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] = (byte) (counter >>> (8 * i));
        }
    }

    static void checkKey(byte[] key) {
        if (key == null || key.length != KEY_LENGTH) {
            throw new IllegalArgumentException("a block channel key is " + KEY_LENGTH + " bytes (AES-256), got "
                + (key == null ? "none" : key.length + " bytes"));
        }
    }
}
