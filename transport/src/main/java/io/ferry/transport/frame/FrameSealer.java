package io.ferry.transport.frame;

import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Seals version-1 frames into {@link SealedFrame}s under one attachment's key; the backend's send
 * loop holds one per attachment. Not thread-safe (one sending thread). The counters start at 1 for
 * every sealer, which is safe only because every attachment brings a fresh key.
 */
public final class FrameSealer {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final SecretKeySpec key;
    private final long volumeKey;
    private final long attachId;
    private final Cipher cipher;
    private final long[] counters = new long[2];
    private final byte[] nonce = new byte[SealedFrame.NONCE_LENGTH];
    private final byte[] plain;
    private final byte[] sealed;
    private final UnsafeBuffer sealedView;

    public FrameSealer(byte[] key, long volumeKey, long attachId, int maxBlockBytes) {
        SealedFrame.checkKey(key);
        this.key = new SecretKeySpec(key, "AES");
        this.volumeKey = volumeKey;
        this.attachId = attachId;
        this.plain = new byte[BlockFrame.maxFrameLength(maxBlockBytes)];
        this.sealed = new byte[SealedFrame.maxFrameLength(maxBlockBytes)];
        this.sealedView = new UnsafeBuffer(sealed);
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this Java runtime has no AES-GCM", e);
        }
    }

    public long attachId() {
        return attachId;
    }

    /**
     * Seals the version-1 frame {@code [offset, offset + length)} of {@code frame} (for block
     * {@code blockIndex} on {@code stream}) into {@code out} at 0.
     *
     * @return the sealed frame's length
     */
    public int seal(int stream, long blockIndex, DirectBuffer frame, int offset, int length, MutableDirectBuffer out) {
        if (stream != BlockFrame.STREAM_ON_DEMAND && stream != BlockFrame.STREAM_BACKGROUND) {
            throw new IllegalArgumentException("stream must be 0 or 1, got " + stream);
        }
        if (length < BlockFrame.HEADER_LENGTH || length > plain.length) {
            throw new IllegalArgumentException("a version-1 frame of " + BlockFrame.HEADER_LENGTH + ".." + plain.length + " bytes, got " + length);
        }
        long counter = ++counters[stream];
        sealedView.putByte(0, (byte) SealedFrame.VERSION);
        sealedView.putByte(SealedFrame.DIRECTION_OFFSET, (byte) SealedFrame.TO_FRONTEND);
        sealedView.putByte(SealedFrame.STREAM_OFFSET, (byte) stream);
        sealedView.putByte(3, (byte) 0);
        sealedView.putLong(SealedFrame.VOLUME_KEY_OFFSET, volumeKey, LE);
        sealedView.putLong(SealedFrame.ATTACH_ID_OFFSET, attachId, LE);
        sealedView.putLong(SealedFrame.BLOCK_INDEX_OFFSET, blockIndex, LE);
        sealedView.putLong(SealedFrame.COUNTER_OFFSET, counter, LE);
        SealedFrame.nonce(nonce, SealedFrame.TO_FRONTEND, stream, counter);
        frame.getBytes(offset, plain, 0, length);
        int n;
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(SealedFrame.TAG_LENGTH * 8, nonce));
            cipher.updateAAD(sealed, 0, SealedFrame.HEADER_LENGTH);
            n = cipher.doFinal(plain, 0, length, sealed, SealedFrame.HEADER_LENGTH);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM sealing failed for a well-formed key and frame", e);
        }
        int total = SealedFrame.HEADER_LENGTH + n;
        out.putBytes(0, sealed, 0, total);
        return total;
    }
}
