package io.ferry.transport.aeron;

/** Outcome of {@link BlockSender#offer}: ordinary conditions are codes so the sender's loop never catches exceptions. */
public enum OfferResult {
    OK,
    /** The receiver's window or the term is full (or the driver is busy): try again later. */
    BACK_PRESSURED,
    /** No receiver yet, or it went away: keep the block and retry once connected. */
    NOT_CONNECTED,
    /** The sender was closed, or its publication reached its maximum position and must be recreated. */
    CLOSED,
    /** Longer than the publication's largest message: a settings mismatch, retrying cannot help. */
    TOO_LONG
}
