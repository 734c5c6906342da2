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
    BAD_PAYLOAD
}
