package io.ferry.query.node;

import io.ferry.persistence.CborSerializable;
import io.ferry.query.NodeSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.OperatorState;
import java.util.List;
import java.util.Map;

/**
 * A logic node's state as stored in a snapshot: an immutable copy taken on the node's own thread,
 * so the snapshot store can serialize it while the node goes on. {@code endedMigrations} (the
 * migrations it was resumed for) is null in snapshots written before it existed.
 */
public record NodeSnapshot(
    NodeSpec spec,
    String deploymentId,
    Map<String, Long> inputAnchors,
    List<String> inputsDone,
    long outputBase,
    List<Row> retained,
    boolean outputDone,
    boolean retired,
    String pausedBy,
    OperatorState operatorState,
    List<String> endedMigrations)
    implements CborSerializable {}
