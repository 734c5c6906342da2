package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An ingest source takes posted rows as whole batches, all or nothing, and refuses them while moving or after its end. */
class IngestStateTest {
  private static final Schema S = Schema.of(Field.of("key", FieldType.STRING));
  private static final NodeId IN = new NodeId("in");

  private static NodeState ingest(long count) {
    NodeState s = new NodeState();
    s.apply(new NodeEvent.Configured(
        new NodeSpec(new QueryId("q"), IN, new OperatorSpec.Ingest("readings", S, count), List.of(), List.of(new NodeId("out")), null, S), "d1"));
    return s;
  }

  private static NodeEvent.BatchProcessed accept(NodeState s, List<Row> rows) {
    NodeState.IngestAnswer a = s.ingest(rows);
    NodeEvent.BatchProcessed e = assertInstanceOf(NodeState.AcceptIngest.class, a, a::toString).event();
    s.apply(e);
    return e;
  }

  @Test
  void acceptedRowsAreOneBatchAtTheSourcesAnchorAndTheLastOneEndsIt() {
    NodeState s = ingest(3);
    NodeEvent.BatchProcessed first = accept(s, List.of(Row.of("a"), Row.of("b")));
    assertEquals(0, first.from());
    assertEquals(2, first.next());
    assertFalse(first.outputDone());
    assertEquals(2, s.outputAnchor());
    NodeState.RefuseIngest over = assertInstanceOf(NodeState.RefuseIngest.class, s.ingest(List.of(Row.of("c"), Row.of("d"))));
    assertTrue(over.reason().contains("takes 1 more rows"), over::reason);
    assertFalse(over.retry());
    assertEquals(2, s.outputAnchor(), "a refused request takes nothing");
    NodeEvent.BatchProcessed last = accept(s, List.of(Row.of("c")));
    assertTrue(last.outputDone());
    NodeState.RefuseIngest ended = assertInstanceOf(NodeState.RefuseIngest.class, s.ingest(List.of(Row.of("e"))));
    assertTrue(ended.reason().contains("has ended"), ended::reason);
  }

  @Test
  void aPausedSourceAsksForARetryAndAnUnconfiguredOneToo() {
    assertTrue(assertInstanceOf(NodeState.RefuseIngest.class, new NodeState().ingest(List.of(Row.of("a")))).retry());
    NodeState s = ingest(-1);
    s.apply(new NodeEvent.Paused("m1"));
    NodeState.RefuseIngest moving = assertInstanceOf(NodeState.RefuseIngest.class, s.ingest(List.of(Row.of("a"))));
    assertTrue(moving.retry());
    assertTrue(moving.reason().contains("moving"), moving::reason);
    s.apply(new NodeEvent.Resumed("m1"));
    accept(s, List.of(Row.of("a")));
    assertEquals(1, s.outputAnchor());
  }
}
