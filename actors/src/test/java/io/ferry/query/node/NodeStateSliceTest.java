package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.KeySlice;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.ops.WindowState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An instance of a keyed node pulls only its key groups' rows and still advances over the whole input. */
class NodeStateSliceTest {
  static final NodeId SRC = new NodeId("src");
  static final List<NodeSpec> SPECS = new QueryGraph(new QueryId("q"), List.of(
      new NodeDef(SRC, new OperatorSpec.Generate(3, 20, 200, 0, 1, 0, 0), List.of()),
      new NodeDef(new NodeId("w"), NodeStateRegroupTest.WINDOW, List.of(SRC), 1, 2),
      new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("w"))))).compile();

  static NodeState configured(int spec) {
    NodeState n = new NodeState();
    n.apply(new NodeEvent.Configured(SPECS.get(spec), "d"));
    return n;
  }

  @Test
  void anIdleInstanceGetsNoRowsButMovesItsAnchorAndABatchCutForAnotherSliceIsIgnored() {
    NodeState src = configured(0);
    src.apply(src.readSource(50).orElseThrow());
    NodeState w0 = configured(1); // owns every group at parallelism 1
    NodeState w1 = configured(2); // idle
    assertNull(src.inputSlice(), "a source reads no slice");
    KeySlice all = w0.inputSlice();
    KeySlice none = w1.inputSlice();
    assertEquals(new KeySlice("key", "ts", 0, 128), all);
    assertEquals(new KeySlice("key", "ts", 0, 0), none);

    NodeState.Served idle = src.serve("w.1", 0, 50, none).orElseThrow();
    assertEquals(List.of(), idle.rows());
    assertEquals(50, idle.next());
    assertEquals(none, idle.slice());
    assertTrue(idle.maxTimeLeftOut()[0] > 0, "the idle instance still learns the largest event time");

    // w.0 sees the batch cut for w.1 (a pull sent before a rescale, answered after it): ignored
    assertTrue(w0.onBatch(SRC, 0, idle.rows(), idle.next(), false, idle.slice(), idle.maxTimeLeftOut()).isEmpty());
    assertEquals(0, w0.inputAnchor(SRC));

    NodeEvent.BatchProcessed moved = w1.onBatch(SRC, 0, idle.rows(), idle.next(), false, idle.slice(), idle.maxTimeLeftOut()).orElseThrow();
    w1.apply(moved);
    assertEquals(50, w1.inputAnchor(SRC), "no row of its own, yet the instance stands at the upstream's end");
    WindowState s1 = (WindowState) w1.keyedReport().orElseThrow().state();
    assertEquals(idle.maxTimeLeftOut()[0], s1.maxEventTime());

    NodeState.Served mine = src.serve("w.0", 0, 50, all).orElseThrow();
    assertEquals(50, mine.rows().size());
    w0.apply(w0.onBatch(SRC, 0, mine.rows(), mine.next(), false, mine.slice(), mine.maxTimeLeftOut()).orElseThrow());
    assertEquals(50, w0.inputAnchor(SRC));
    assertEquals(s1.maxEventTime(), ((WindowState) w0.keyedReport().orElseThrow().state()).maxEventTime(), "one watermark for all instances");
    assertInstanceOf(List.class, mine.rows());
  }
}
