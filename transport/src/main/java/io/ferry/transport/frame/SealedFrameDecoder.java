package io.ferry.transport.frame;

import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The receiver's decoder for plain ({@link BlockFrame}) and sealed ({@link SealedFrame}) frames:
 * a sealed one is checked against its stream's last counter, decrypted and authenticated under its
 * attachment's key, and its inner frame decoded and matched to the clear header; a plain one for a
 * volume whose channel is sealed is refused. Failures are codes, never exceptions, and a failed
 * frame's block is never handed on. Not thread-safe: the receiver thread's own.
 */
public final class SealedFrameDecoder {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final BlockFrameDecoder inner;
    private final ChannelKeys keys;
    private final int maxSealedLength;
    private final byte[] sealed;
    private final UnsafeBuffer sealedView;
    private final byte[] plain;
    private final UnsafeBuffer plainView;
    private final byte[] nonce = new byte[SealedFrame.NONCE_LENGTH];
    private final Cipher cipher;

    public SealedFrameDecoder(int maxBlockBytes, ChannelKeys keys) {
        this.inner = new BlockFrameDecoder(maxBlockBytes);
        this.keys = keys;
        this.maxSealedLength = SealedFrame.maxFrameLength(maxBlockBytes);
        this.sealed = new byte[maxSealedLength];
        this.sealedView = new UnsafeBuffer(sealed);
        this.plain = new byte[BlockFrame.maxFrameLength(maxBlockBytes)];
        this.plainView = new UnsafeBuffer(plain);
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this Java runtime has no AES-GCM", e);
        }
    }

    /** The decoded frame (after OK) or what could be read of a failed one (unverified). */
    public BlockFrameDecoder frame() {
        return inner;
    }

    public DecodeResult decode(DirectBuffer buffer, int offset, int length) {
        if (length >= 1 && offset >= 0 && (long) offset + length <= buffer.capacity()
            && (buffer.getByte(offset) & 0xFF) == SealedFrame.VERSION) {
            return open(buffer, offset, length);
        }
        DecodeResult r = inner.decode(buffer, offset, length);
        if (inner.headerReadable() && keys.sealedOnly(inner.volumeKey())) {
            return DecodeResult.BAD_AUTH;
        }
        return r;
    }

    private DecodeResult open(DirectBuffer buffer, int offset, int length) {
        inner.unverified(-1, 0, 0, -1);
        if (length < SealedFrame.HEADER_LENGTH) {
            return DecodeResult.TRUNCATED;
        }
        int stream = buffer.getByte(offset + SealedFrame.STREAM_OFFSET) & 0xFF;
        long volumeKey = buffer.getLong(offset + SealedFrame.VOLUME_KEY_OFFSET, LE);
        long attachId = buffer.getLong(offset + SealedFrame.ATTACH_ID_OFFSET, LE);
        long blockIndex = buffer.getLong(offset + SealedFrame.BLOCK_INDEX_OFFSET, LE);
        long counter = buffer.getLong(offset + SealedFrame.COUNTER_OFFSET, LE);
        inner.unverified(stream, volumeKey, attachId, blockIndex);
        int direction = buffer.getByte(offset + SealedFrame.DIRECTION_OFFSET) & 0xFF;
        if (direction != SealedFrame.TO_FRONTEND || (stream != BlockFrame.STREAM_ON_DEMAND && stream != BlockFrame.STREAM_BACKGROUND)) {
            return DecodeResult.BAD_KIND;
        }
        if (length < SealedFrame.HEADER_LENGTH + BlockFrame.HEADER_LENGTH + SealedFrame.TAG_LENGTH || length > maxSealedLength) {
            return DecodeResult.BAD_LENGTH;
        }
        ChannelKeys.OpenKey key = keys.key(volumeKey, attachId);
        if (key == null) {
            return DecodeResult.BAD_AUTH;
        }
        if (counter <= key.lastCounter[stream]) {
            return DecodeResult.REPLAYED;
        }
        buffer.getBytes(offset, sealed, 0, length);
        SealedFrame.nonce(nonce, direction, stream, counter);
        int n;
        try {
            cipher.init(Cipher.DECRYPT_MODE, key.key, new GCMParameterSpec(SealedFrame.TAG_LENGTH * 8, nonce));
            cipher.updateAAD(sealed, 0, SealedFrame.HEADER_LENGTH);
            n = cipher.doFinal(sealed, SealedFrame.HEADER_LENGTH, length - SealedFrame.HEADER_LENGTH, plain, 0);
        } catch (AEADBadTagException e) {
            return DecodeResult.BAD_AUTH;
        } catch (GeneralSecurityException e) {
            return DecodeResult.BAD_AUTH;
        }
        // Authentic from here on: only now may the counter move, so a forged frame cannot block the stream.
        key.lastCounter[stream] = counter;
        DecodeResult r = inner.decode(plainView, 0, n);
        if (r != DecodeResult.OK) {
            inner.unverified(stream, volumeKey, attachId, blockIndex);
            return r;
        }
        if (inner.volumeKey() != volumeKey || inner.requestId() != attachId || inner.blockIndex() != blockIndex || inner.stream() != stream) {
            inner.unverified(stream, volumeKey, attachId, blockIndex);
            return DecodeResult.BAD_AUTH;
        }
        return DecodeResult.OK;
    }
}
