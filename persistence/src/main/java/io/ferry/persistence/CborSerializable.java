package io.ferry.persistence;

/**
 * Marker for every Ferry message, event and snapshot: bound to Pekko's Jackson CBOR serializer in
 * {@code reference.conf}, so nothing Ferry sends or persists goes through Java serialization.
 */
public interface CborSerializable {}
