package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.KeyGroups;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.ops.WindowState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An instance of a keyed node reports where it stands and takes new key groups only at that anchor. */
class NodeStateRegroupTest {
  static final NodeId SRC = new NodeId("src");
  static final OperatorSpec.Window WINDOW = new OperatorSpec.Window("key", "ts", 1000, 0,
      List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n")));
  static final List<NodeSpec> SPECS = new QueryGraph(new QueryId("q"), List.of(
      new NodeDef(SRC, new OperatorSpec.Generate(3, 20, 200, 0, 1, 0, 0), List.of()),
      new NodeDef(new NodeId("w"), WINDOW, List.of(SRC), 1, 2),
      new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("w"))))).compile();

  static NodeState node(int i) {
    NodeState n = new NodeState();
    n.apply(new NodeEvent.Configured(SPECS.get(1 + i), "d"));
    return n;
  }

  @Test
  void anInstanceTakesItsGroupsAtItsAnchorOnceAndKeepsThemThroughASnapshot() {
    NodeState src = new NodeState();
    src.apply(new NodeEvent.Configured(SPECS.get(0), "d"));
    NodeEvent.BatchProcessed read = src.readSource(50).orElseThrow();
    src.apply(read);
    NodeState w0 = node(0);
    NodeState.Served s = src.serve("w.0", 0, 50).orElseThrow();
    NodeEvent.BatchProcessed batch = w0.onBatch(SRC, s.from(), s.rows(), s.next(), s.done()).orElseThrow();
    w0.apply(batch);
    NodeState.KeyedReport report = w0.keyedReport().orElseThrow();
    assertEquals(50, report.anchor());
    WindowState all = (WindowState) report.state();
    assertTrue(all.open().size() > 5, "instance 0 owns every key at parallelism 1: " + all.open().size());

    assertInstanceOf(NodeState.RegroupRefused.class, w0.regroup("r1", 0, 64, 49, all), "a cut elsewhere is refused");
    NodeState.PersistRegroup p = assertInstanceOf(NodeState.PersistRegroup.class, w0.regroup("r1", 0, 64, 50, all));
    w0.apply(p.event());
    assertEquals(new KeyGroups.Range(0, 64), ((OperatorSpec.Keyed) w0.spec().op()).range());
    assertEquals(all, w0.keyedReport().orElseThrow().state());
    assertInstanceOf(NodeState.AlreadyRegrouped.class, w0.regroup("r1", 0, 64, 50, all), "a repeated ask is answered done");

    NodeState back = NodeState.fromSnapshot(w0.snapshot());
    assertEquals(w0.spec(), back.spec());
    assertEquals(all, back.keyedReport().orElseThrow().state());
    assertInstanceOf(NodeState.AlreadyRegrouped.class, back.regroup("r1", 0, 64, 50, all));

    NodeState replayed = node(0);
    replayed.apply(batch);
    replayed.apply(p.event());
    assertEquals(w0.spec(), replayed.spec());
    assertEquals(all, replayed.keyedReport().orElseThrow().state());
  }

  @Test
  void nodesThatAreNotKeyedInstancesRefuse() {
    NodeState out = new NodeState();
    out.apply(new NodeEvent.Configured(SPECS.get(3), "d"));
    assertTrue(out.keyedReport().isEmpty());
    NodeState.RegroupRefused r = assertInstanceOf(NodeState.RegroupRefused.class, out.regroup("r1", 0, 1, 0, null));
    assertTrue(!r.retry() && r.reason().contains("not a running instance"), r.reason());
    assertTrue(assertInstanceOf(NodeState.RegroupRefused.class, new NodeState().regroup("r1", 0, 1, 0, null)).retry());
  }
}
