package io.ferry.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A node declared with parallelism compiles to its instances, and the graph spec carries it. */
class KeyedGraphTest {
  static final QueryId Q = new QueryId("q");
  static final NodeId SRC = new NodeId("src");
  static final NodeId W = new NodeId("w");
  static final OperatorSpec.Generate GEN = new OperatorSpec.Generate(1, 10, 100, 0, 10, 0, 0);
  static final OperatorSpec.Window WINDOW =
      new OperatorSpec.Window("key", "ts", 100, 0, List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n")));

  static QueryGraph graph(int parallelism, int max, OperatorSpec reader) {
    return new QueryGraph(Q, List.of(
        new NodeDef(SRC, GEN, List.of()),
        new NodeDef(W, WINDOW, List.of(SRC), parallelism, max),
        new NodeDef(new NodeId("out"), reader, List.of(W))));
  }

  @Test
  void aKeyedWindowCompilesToItsInstancesWithTheSinkReadingThemAll() {
    List<NodeSpec> specs = graph(2, 3, new OperatorSpec.Collect()).compile();
    List<String> ids = specs.stream().map(s -> s.id().value()).toList();
    assertEquals(List.of("src", "w.0", "w.1", "w.2", "out"), ids);
    NodeSpec src = specs.get(0);
    assertEquals(List.of(new NodeId("w.0"), new NodeId("w.1"), new NodeId("w.2")), src.outputs());
    for (int i = 0; i < 3; i++) {
      OperatorSpec.Keyed k = assertInstanceOf(OperatorSpec.Keyed.class, specs.get(1 + i).op());
      assertEquals(KeyGroups.range(i, 2), k.range());
      assertEquals(WINDOW, k.of());
      assertEquals(List.of(SRC), specs.get(1 + i).inputs());
    }
    assertTrue(specs.get(3).op() instanceof OperatorSpec.Keyed k && k.range().isEmpty(), "w.2 stands by idle");
    NodeSpec out = specs.get(4);
    assertEquals(3, out.inputs().size());
    assertEquals(QueryGraph.outputSchema(WINDOW, OperatorSpec.Generate.SCHEMA, "w"), out.inputSchema());
  }

  @Test
  void onlyWindowsRunKeyedAndOnlySinksAndUnionsReadThem() {
    QueryGraph filterKeyed = new QueryGraph(Q, List.of(
        new NodeDef(SRC, GEN, List.of()),
        new NodeDef(W, new OperatorSpec.Filter(Predicate.field("value", Predicate.Op.GE, 1L)), List.of(SRC), 2, 0),
        new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(W))));
    assertTrue(assertThrows(QueryException.class, filterKeyed::compile).getMessage().contains("must be a window"));
    QueryGraph readByFilter = new QueryGraph(Q, List.of(
        new NodeDef(SRC, GEN, List.of()),
        new NodeDef(W, WINDOW, List.of(SRC), 2, 0),
        new NodeDef(new NodeId("f"), new OperatorSpec.Filter(Predicate.field("n", Predicate.Op.GE, 1L)), List.of(W)),
        new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("f")))));
    assertTrue(assertThrows(QueryException.class, readByFilter::compile).getMessage().contains("only a sink or a union"));
    assertThrows(QueryException.class, () -> new NodeDef(W, WINDOW, List.of(SRC), 3, 2));
    assertThrows(QueryException.class, () -> new NodeDef(W, WINDOW, List.of(SRC), KeyGroups.PARALLELISM_MAX + 1, 0));
    assertThrows(QueryException.class, () -> new NodeDef(W, WINDOW, List.of(SRC), 0, 2));
  }

  @Test
  void theJsonFormCarriesParallelismAndLeavesItOutOfOtherNodes() throws Exception {
    JsonMapper json = JsonMapper.builder().build();
    QueryGraph g = graph(2, 4, new OperatorSpec.Collect());
    String text = json.writeValueAsString(g);
    assertTrue(text.contains("\"parallelism\":2") && text.contains("\"maxParallelism\":4"), text);
    assertEquals(2, text.split("arallelism", -1).length - 1, "only the keyed node has them: " + text);
    assertEquals(g, json.readValue(text, QueryGraph.class));
    String noMax = text.replace(",\"maxParallelism\":4", "");
    assertEquals(2, json.readValue(noMax, QueryGraph.class).compile().stream().filter(s -> s.op() instanceof OperatorSpec.Keyed).count());
  }
}
