package io.ferry.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Predicate.Op;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class QueryGraphTest {
  private static final OperatorSpec.Generate GEN = new OperatorSpec.Generate(7, 4, 100, 0, 10, 0, 0);
  private static final String GEN_FIELDS = "[key, value, ts, owner]";

  /** A source with every type the generator lacks: BOOLEAN and DOUBLE. */
  private static final OperatorSpec.ReadJsonLines JSON =
      new OperatorSpec.ReadJsonLines(
          "in.jsonl",
          Schema.of(
              Field.pii("id", FieldType.STRING),
              Field.of("ok", FieldType.BOOLEAN),
              Field.of("temp", FieldType.DOUBLE),
              Field.of("at", FieldType.TIMESTAMP),
              Field.of("seq", FieldType.LONG)));

  private static NodeDef node(String id, OperatorSpec op, String... inputs) {
    return new NodeDef(new NodeId(id), op, Arrays.stream(inputs).map(NodeId::new).toList());
  }

  private static QueryGraph graph(NodeDef... nodes) {
    return new QueryGraph(new QueryId("q"), List.of(nodes));
  }

  private static OperatorSpec.Filter filter(String field, Op op, Object literal) {
    return new OperatorSpec.Filter(Predicate.field(field, op, literal));
  }

  private static OperatorSpec.Project project(List<String> keep, List<String> drop, List<String> mask) {
    return new OperatorSpec.Project(keep, drop, mask);
  }

  private static OperatorSpec.Window window(String key, String time, Aggregate... aggs) {
    return new OperatorSpec.Window(key, time, 1000, 0, List.of(aggs));
  }

  private static final OperatorSpec.Collect SINK = new OperatorSpec.Collect();

  /** src -> op -> out, with op reading from src. */
  private static QueryGraph pipeline(OperatorSpec source, OperatorSpec op) {
    return graph(node("src", source), node("op", op, "src"), node("out", SINK, "op"));
  }

  private static String assertRejected(QueryGraph g, String... fragments) {
    QueryException e = assertThrows(QueryException.class, g::compile);
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "message lacks '" + f + "': " + e.getMessage());
    }
    return e.getMessage();
  }

  private static NodeSpec spec(List<NodeSpec> specs, String id) {
    return specs.stream().filter(s -> s.id().value().equals(id)).findFirst().orElseThrow();
  }

  private static String describe(Schema s) {
    return s.fields().stream()
        .map(f -> f.name() + ":" + f.type() + (f.pii() ? ":pii" : ""))
        .collect(Collectors.joining(" "));
  }

  // ---- graph shape ----

  @Test
  void cycleIsRejectedNamingTheNodesInIt() {
    QueryGraph g =
        graph(
            node("src", GEN),
            node("f1", filter("value", Op.GT, 1L), "f2"),
            node("f2", filter("value", Op.GT, 2L), "f1"),
            node("out", SINK, "src", "f2"));
    String msg = assertRejected(g, "cycle", "f1", "f2");
    assertFalse(msg.contains("src"), "src is not in the cycle: " + msg);
  }

  @Test
  void missingUpstreamIsRejected() {
    assertRejected(
        graph(node("src", GEN), node("f", filter("value", Op.GT, 1L), "nope"), node("out", SINK, "f")),
        "node 'f'", "'nope'", "not a node of the query");
  }

  @Test
  void duplicateNodeIdIsRejected() {
    assertRejected(
        graph(node("src", GEN), node("src", GEN), node("out", SINK, "src")), "'src'", "used twice");
  }

  @Test
  void sourceWithAnInputIsRejected() {
    assertRejected(
        graph(node("src", GEN), node("src2", GEN, "src"), node("out", SINK, "src2")),
        "node 'src2'", "is a source and cannot read from [src]");
  }

  @Test
  void nonSourceWithoutInputIsRejected() {
    assertRejected(
        graph(node("src", GEN), node("f", filter("value", Op.GT, 1L)), node("out", SINK, "src", "f")),
        "node 'f'", "no upstream");
  }

  @Test
  void filterWithTwoInputsIsRejected() {
    assertRejected(
        graph(node("a", GEN), node("b", GEN), node("f", filter("value", Op.GT, 1L), "a", "b"), node("out", SINK, "f")),
        "node 'f'", "exactly one upstream", "[a, b]");
  }

  @Test
  void nodeReadingTheSameUpstreamTwiceIsRejected() {
    assertRejected(graph(node("src", GEN), node("out", SINK, "src", "src")), "node 'out'", "'src' twice");
  }

  @Test
  void nonSinkWithoutDownstreamIsRejected() {
    assertRejected(
        graph(node("src", GEN), node("dangling", filter("value", Op.GT, 1L), "src"), node("out", SINK, "src")),
        "node 'dangling'", "no downstream");
  }

  @Test
  void emptyGraphIsRejected() {
    assertRejected(graph(), "query q", "no nodes");
  }

  @Test
  void unionSinkOfDifferentSchemasIsRejected() {
    QueryGraph g =
        graph(
            node("src", GEN),
            node("slim", project(List.of(), List.of("owner"), List.of()), "src"),
            node("out", SINK, "src", "slim"));
    assertRejected(g, "node 'out'", "different schemas", "'src'", "'slim'");
  }

  @Test
  void invalidNamesAreRejected() {
    QueryException e = assertThrows(QueryException.class, () -> new NodeId("bad/name"));
    assertTrue(e.getMessage().contains("node id") && e.getMessage().contains("bad/name"), e.getMessage());
    assertThrows(QueryException.class, () -> new NodeId(""));
    assertThrows(QueryException.class, () -> new NodeId("-leading-dash"));
    assertThrows(QueryException.class, () -> new NodeId("x".repeat(65)));
    assertThrows(QueryException.class, () -> new QueryId("bad name"));
    assertThrows(QueryException.class, () -> Field.of("bad/field", FieldType.LONG));
    assertEquals("ok_name.1-x", new NodeId("ok_name.1-x").value());
  }

  // ---- unknown fields ----

  @Test
  void filterOnUnknownFieldListsAvailableFields() {
    assertRejected(pipeline(GEN, filter("nope", Op.EQ, 1L)), "node 'op'", "unknown field 'nope'", GEN_FIELDS);
  }

  @Test
  void unknownFieldInsideAndOrNotIsFound() {
    Predicate p =
        new Predicate.Not(Predicate.field("value", Op.GT, 1L).and(Predicate.field("key", Op.EQ, "k").or(Predicate.field("nope", Op.EQ, 1L))));
    assertRejected(pipeline(GEN, new OperatorSpec.Filter(p)), "node 'op'", "unknown field 'nope'");
  }

  @Test
  void projectOfUnknownFieldListsAvailableFields() {
    assertRejected(pipeline(GEN, project(List.of("key", "nope"), List.of(), List.of())), "node 'op'", "unknown field 'nope'", GEN_FIELDS);
    assertRejected(pipeline(GEN, project(List.of(), List.of("gone"), List.of())), "unknown field 'gone'", GEN_FIELDS);
    assertRejected(pipeline(GEN, project(List.of(), List.of(), List.of("who"))), "unknown field 'who'", GEN_FIELDS);
  }

  @Test
  void windowOnUnknownFieldListsAvailableFields() {
    Aggregate n = new Aggregate(AggregateFn.COUNT, null, "n");
    assertRejected(pipeline(GEN, window("nokey", "ts", n)), "node 'op'", "unknown field 'nokey'", GEN_FIELDS);
    assertRejected(pipeline(GEN, window("key", "notime", n)), "unknown field 'notime'", GEN_FIELDS);
    assertRejected(
        pipeline(GEN, window("key", "ts", new Aggregate(AggregateFn.SUM, "noval", "s"))), "unknown field 'noval'", GEN_FIELDS);
  }

  // ---- types ----

  @Test
  void filterComparingLongFieldToStringIsRejected() {
    assertRejected(pipeline(GEN, filter("value", Op.GE, "100")), "node 'op'", "type mismatch", "'value' is LONG", "'100'");
  }

  @Test
  void filterLiteralsOfTheRightTypeCompile() {
    assertEquals(3, pipeline(GEN, filter("value", Op.GE, 100)).compile().size(), "an int literal is widened to LONG");
    assertEquals(3, pipeline(JSON, filter("temp", Op.LT, 3L)).compile().size(), "a LONG literal fits a DOUBLE field");
    assertEquals(3, pipeline(JSON, filter("ok", Op.NE, true)).compile().size());
  }

  @Test
  void booleanFieldWithOrderingIsRejected() {
    assertRejected(pipeline(JSON, filter("ok", Op.LT, true)), "node 'op'", "type mismatch", "ok < true", "'ok' is BOOLEAN");
  }

  @Test
  void sumOverStringIsRejected() {
    assertRejected(
        pipeline(GEN, window("key", "ts", new Aggregate(AggregateFn.SUM, "owner", "s"))),
        "node 'op'", "type mismatch", "SUM(owner)", "numeric", "STRING");
  }

  @Test
  void maskingLongFieldIsRejected() {
    assertRejected(
        pipeline(GEN, project(List.of(), List.of(), List.of("value"))), "node 'op'", "type mismatch", "mask", "'value' is LONG");
  }

  @Test
  void maskingDroppedFieldIsRejected() {
    assertRejected(pipeline(GEN, project(List.of(), List.of("owner"), List.of("owner"))), "node 'op'", "'owner'", "masked and dropped");
    assertRejected(pipeline(GEN, project(List.of("key"), List.of(), List.of("owner"))), "'owner'", "masked and dropped");
  }

  @Test
  void projectDroppingEveryFieldIsRejected() {
    assertRejected(pipeline(GEN, project(List.of(), List.of("key", "value", "ts", "owner"), List.of())), "node 'op'", "drops every field");
  }

  @Test
  void windowKeyOfTypeDoubleIsRejected() {
    assertRejected(
        pipeline(JSON, window("temp", "at", new Aggregate(AggregateFn.COUNT, null, "n"))),
        "node 'op'", "type mismatch", "window key 'temp'", "DOUBLE");
  }

  @Test
  void eventTimeFieldOfTypeStringIsRejected() {
    assertRejected(
        pipeline(GEN, window("key", "owner", new Aggregate(AggregateFn.COUNT, null, "n"))),
        "node 'op'", "type mismatch", "event time field 'owner'", "STRING");
  }

  @Test
  void sourceAndSinkSettingsAreChecked() {
    assertRejected(pipeline(new OperatorSpec.ReadJsonLines("in.jsonl", new Schema(List.of())), filter("x", Op.EQ, 1L)), "node 'src'", "no fields");
    assertRejected(graph(node("src", GEN), node("file", new OperatorSpec.WriteJsonLines(" "), "src")), "node 'file'", "no path");
  }

  // ---- derived schemas and order ----

  @Test
  void projectDerivesItsSchemaAndMaskClearsPii() {
    List<NodeSpec> specs = pipeline(GEN, project(List.of(), List.of("value"), List.of("owner"))).compile();
    NodeSpec p = spec(specs, "op");
    assertEquals(OperatorSpec.Generate.SCHEMA, p.inputSchema());
    assertEquals("key:STRING ts:TIMESTAMP owner:STRING", describe(p.outputSchema()));
    assertTrue(p.receivesPii());
    assertFalse(spec(specs, "out").receivesPii(), "masking must clear the PII tag downstream");
    assertEquals(p.outputSchema(), spec(specs, "out").outputSchema(), "a sink emits what it receives");
  }

  @Test
  void projectKeepFollowsInputOrderAndKeepsPiiOfUnmaskedFields() {
    NodeSpec p = spec(pipeline(GEN, project(List.of("owner", "key"), List.of(), List.of())).compile(), "op");
    assertEquals("key:STRING owner:STRING:pii", describe(p.outputSchema()));
    NodeSpec m = spec(pipeline(GEN, project(List.of("owner", "ts"), List.of("ts"), List.of("owner"))).compile(), "op");
    assertEquals("owner:STRING", describe(m.outputSchema()), "drop wins over keep; mask clears pii");
  }

  @Test
  void windowSchemaIsKeyBoundsThenAggregates() {
    OperatorSpec.Window w =
        window(
            "key",
            "ts",
            new Aggregate(AggregateFn.COUNT, null, "n"),
            new Aggregate(AggregateFn.SUM, "value", "total"),
            new Aggregate(AggregateFn.AVG, "value", "mean"),
            new Aggregate(AggregateFn.MIN, "value", "low"),
            new Aggregate(AggregateFn.MAX, "ts", "latest"));
    NodeSpec s = spec(pipeline(GEN, w).compile(), "op");
    assertEquals(
        "key:STRING window_start:TIMESTAMP window_end:TIMESTAMP n:LONG total:LONG mean:DOUBLE low:LONG latest:LONG",
        describe(s.outputSchema()));
  }

  @Test
  void windowSchemaFollowsInputTypesAndPii() {
    OperatorSpec.Window w =
        window(
            "id",
            "seq",
            new Aggregate(AggregateFn.SUM, "temp", "t_sum"),
            new Aggregate(AggregateFn.MAX, "temp", "t_max"),
            new Aggregate(AggregateFn.SUM, "at", "at_sum"),
            new Aggregate(AggregateFn.MIN, "seq", "first"));
    NodeSpec s = spec(pipeline(JSON, w).compile(), "op");
    assertEquals(
        "key:STRING:pii window_start:TIMESTAMP window_end:TIMESTAMP t_sum:DOUBLE t_max:DOUBLE at_sum:LONG first:LONG",
        describe(s.outputSchema()));
  }

  @Test
  void compileReturnsTopologicalOrderWithOutputs() {
    OperatorSpec.Window w = window("key", "ts", new Aggregate(AggregateFn.COUNT, null, "n"));
    // Written sinks first, so the order cannot come from the declaration order.
    QueryGraph g =
        graph(
            node("out", SINK, "win-a", "win-b"),
            node("win-b", w, "src-b"),
            node("win-a", w, "f-a"),
            node("f-a", filter("value", Op.GE, 100L), "src-a"),
            node("src-b", GEN),
            node("src-a", GEN));
    List<NodeSpec> specs = g.compile();
    List<String> order = specs.stream().map(s -> s.id().value()).toList();
    assertEquals(6, order.size());
    assertTrue(order.indexOf("src-a") < order.indexOf("f-a"), order::toString);
    assertTrue(order.indexOf("f-a") < order.indexOf("win-a"), order::toString);
    assertTrue(order.indexOf("src-b") < order.indexOf("win-b"), order::toString);
    assertEquals("out", order.get(5), order::toString);
    assertTrue(specs.get(0).op().isSource() && specs.get(1).op().isSource(), "sources first: " + order);

    assertEquals(List.of(new NodeId("f-a")), spec(specs, "src-a").outputs());
    assertEquals(List.of(new NodeId("win-b")), spec(specs, "src-b").outputs());
    assertEquals(List.of(new NodeId("win-a")), spec(specs, "f-a").outputs());
    assertEquals(List.of(new NodeId("out")), spec(specs, "win-a").outputs());
    assertEquals(List.of(), spec(specs, "out").outputs());
    assertEquals(List.of(new NodeId("win-a"), new NodeId("win-b")), spec(specs, "out").inputs());
    assertNull(spec(specs, "src-a").inputSchema());
    assertEquals(spec(specs, "win-a").outputSchema(), spec(specs, "out").inputSchema());
    for (NodeSpec s : specs) {
      assertEquals(new QueryId("q"), s.query());
    }
  }

  @Test
  void oneSourceMayFeedSeveralNodes() {
    QueryGraph g =
        graph(
            node("src", GEN),
            node("big", filter("value", Op.GE, 500L), "src"),
            node("small", filter("value", Op.LT, 500L), "src"),
            node("out", SINK, "big", "small"));
    NodeSpec src = spec(g.compile(), "src");
    assertEquals(List.of(new NodeId("big"), new NodeId("small")), src.outputs());
  }
}
