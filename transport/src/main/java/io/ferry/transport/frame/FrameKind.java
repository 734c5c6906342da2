package io.ferry.transport.frame;

/** How a block's bytes travel in a frame; the ordinal is the kind byte on the wire (see {@link BlockFrameEncoder}). */
public enum FrameKind {
    /** All-zero block: no payload. */
    ZERO,
    /** The target already holds a block with this SHA-256: the 32-byte hash is the payload. */
    REF,
    /** LZ4 block-compressed bytes. */
    LZ4,
    /** The block's bytes as they are. */
    RAW;

    private static final FrameKind[] BY_CODE = values();

    /** The kind for a wire code, or null when the code is not a kind (callers turn that into {@link DecodeResult#BAD_KIND}). */
    static FrameKind fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
