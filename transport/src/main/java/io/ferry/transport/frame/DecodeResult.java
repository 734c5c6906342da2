package io.ferry.transport.frame;

/** Outcome of {@link BlockFrameDecoder#decode}; ordinary outcomes are codes, not exceptions, because bad frames are expected on a WAN. */
public enum DecodeResult {
    OK,
    /** Fewer bytes than the header, or than the header's payload length, says. */
    TRUNCATED,
    /** The version byte is not one this decoder speaks. */
    BAD_VERSION,
    /** The kind or stream byte is out of range. */
    BAD_KIND,
    /** A length field contradicts the kind, the decoder's block size limit or the frame's length. */
    BAD_LENGTH,
    /** The CRC32C over header and payload does not match. */
    BAD_CRC,
    /** The CRC matched but the LZ4 payload does not decompress to exactly the block length. */
    BAD_PAYLOAD,
    /**
     * A sealed frame whose AES-GCM tag does not verify (tampered, or under another key), one the
     * receiver has no key for, or a plain frame for a volume whose channel is encrypted.
     */
    BAD_AUTH,
    /** A sealed frame whose counter is not above the last one accepted on its stream: replayed or reordered. */
    REPLAYED
}
