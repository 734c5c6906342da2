package io.ferry.transport.frame;

import javax.crypto.spec.SecretKeySpec;

/**
 * Where a receiver finds the key of a sealed frame's attachment; the member's block resources
 * answer from the frontends' current attachments. Called on the receiver thread for every frame.
 */
public interface ChannelKeys {

    /** The receiving side of one attachment's key, and the last counter accepted per stream. */
    final class OpenKey {
        final SecretKeySpec key;
        /** Touched only by the one receiver thread. */
        final long[] lastCounter = new long[2];

        public OpenKey(byte[] key) {
            SealedFrame.checkKey(key);
            this.key = new SecretKeySpec(key, "AES");
        }
    }

    /** The key of {@code attachId} of the volume, or null when there is none (unknown, or an attachment long gone). */
    OpenKey key(long volumeKey, long attachId);

    /** Whether the volume's frames must be sealed, so a plain frame for it is refused (no downgrade). */
    boolean sealedOnly(long volumeKey);

    /** No volume is encrypted: every frame is plain. */
    ChannelKeys NONE = new ChannelKeys() {
        @Override
        public OpenKey key(long volumeKey, long attachId) {
            return null;
        }

        @Override
        public boolean sealedOnly(long volumeKey) {
            return false;
        }
    };
}
