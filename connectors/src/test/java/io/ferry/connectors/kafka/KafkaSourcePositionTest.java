package io.ferry.connectors.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.query.node.NodeEvent;
import io.ferry.query.node.NodeSnapshot;
import io.ferry.query.node.NodeState;
import io.ferry.query.ops.SinkAnchors;
import io.ferry.query.ops.SourcePosition;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A Kafka source's partition offsets travel with its batches into the node's state and its
 * snapshots, found through the ConnectorProvider lookup; no broker is needed for that (the
 * consumer is made on the first read).
 */
class KafkaSourcePositionTest {
  private static final Schema S = Schema.of(Field.of("key", FieldType.STRING));
  private static final NodeId SRC = new NodeId("src");

  private static NodeSpec spec() {
    return new NodeSpec(new QueryId("q"), SRC, new OperatorSpec.ReadKafka("127.0.0.1:1", "t", S, -1, Map.of()), List.of(), List.of(new NodeId("out")), null, S);
  }

  @Test
  void offsetsPersistedWithBatchesAreInTheSnapshotAndComeBackFromIt() {
    NodeState s = new NodeState();
    s.apply(new NodeEvent.Configured(spec(), "d1"));
    s.apply(new NodeEvent.BatchProcessed(SRC, 0, 2, false, new SourcePosition(Map.of("0", 7L, "1", 3L)), List.of(Row.of("a"), Row.of("b")), false));
    s.apply(new NodeEvent.BatchProcessed(SRC, 2, 3, false, new SourcePosition(Map.of("0", 9L, "1", 3L)), List.of(Row.of("c")), false));
    NodeSnapshot snap = s.snapshot();
    assertEquals(new SourcePosition(Map.of("0", 9L, "1", 3L)), snap.operatorState(), "the last position replaces the earlier one");
    NodeState restored = NodeState.fromSnapshot(snap);
    assertEquals(snap.operatorState(), restored.snapshot().operatorState());
    assertEquals(3, restored.inputAnchor(SRC));
  }

  @Test
  void aReaderRefusesAnotherKindOfStateAndStartsEmpty() {
    KafkaSourceReader r = new KafkaSourceReader((OperatorSpec.ReadKafka) spec().op());
    assertEquals(new SourcePosition(Map.of()), r.snapshot());
    assertThrows(IllegalArgumentException.class, () -> r.apply(new SinkAnchors(Map.of("x", 1L))));
    r.restore(new SourcePosition(Map.of("2", 5L)));
    assertEquals(Map.of("2", 5L), assertInstanceOf(SourcePosition.class, r.snapshot()).positions());
    r.restore(null);
    assertEquals(Map.of(), ((SourcePosition) r.snapshot()).positions());
  }
}
