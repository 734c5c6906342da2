package io.ferry.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Expr;
import io.ferry.query.Expr.Fn;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Predicate;
import io.ferry.query.QueryCompiler;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Schema;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SQL → graph: each construct compiles to the nodes the JSON form would have; bad SQL fails at its line and column. */
class SqlCompilerTest {
  static final String GEN =
      "CREATE TABLE s (`key` STRING, `value` BIGINT, ts TIMESTAMP(3), owner STRING WITH ('pii' = 'true'),\n"
          + "  WATERMARK FOR ts AS ts - INTERVAL '0.05' SECOND) WITH ('connector' = 'generator', 'seed' = '3', 'count' = '100');\n";
  static final String FILE_IN =
      "CREATE TABLE r (id STRING, t TIMESTAMP(3), temp DOUBLE, WATERMARK FOR t AS t) WITH ('connector' = 'files', 'path' = '/tmp/r.jsonl');\n";
  static final String SINK = "CREATE TABLE sink WITH ('connector' = 'collect');\n";

  static final OperatorSpec.Generate GENERATE = new OperatorSpec.Generate(3, 16, 100, 0, 1, 0, 0);

  static QueryCompiler.Compiled compile(String sql) {
    return new SqlCompiler().compile(sql, new QueryId("q"));
  }

  static NodeDef node(String id, OperatorSpec op, String... inputs) {
    return new NodeDef(new NodeId(id), op, List.of(inputs).stream().map(NodeId::new).toList());
  }

  static void assertShape(List<NodeDef> expected, QueryGraph got) {
    assertEquals(Graphs.shape(new QueryGraph(new QueryId("q"), expected)), Graphs.shape(got));
  }

  static SqlCompileException fails(String sql) {
    return assertThrows(SqlCompileException.class, () -> compile(sql));
  }

  static void failsAt(String sql, int line, int column, String words) {
    SqlCompileException e = fails(sql);
    assertEquals(line + ":" + column, e.line() + ":" + e.column(), e.getMessage());
    assertTrue(e.getMessage().contains(words), e.getMessage());
  }

  @Test
  void theCompilerIsFoundThroughServiceLoader() {
    assertTrue(QueryCompiler.find("sql").orElseThrow() instanceof SqlCompiler);
    assertTrue(QueryCompiler.find("SQL").isPresent());
  }

  @Test
  void filterAndProjectBecomeTheJsonFormsNodes() {
    QueryGraph g = compile(GEN + SINK + "INSERT INTO sink SELECT `key`, `value` FROM s WHERE `value` > 10 AND `key` <> 'k1'").graph();
    assertShape(List.of(
        node("s", GENERATE),
        node("f", new OperatorSpec.Filter(Predicate.field("value", Predicate.Op.GT, 10L).and(Predicate.field("key", Predicate.Op.NE, "k1"))), "s"),
        node("p", new OperatorSpec.Project(List.of(), List.of("ts", "owner"), List.of()), "f"),
        node("sink", new OperatorSpec.Collect(), "p")), g);
  }

  @Test
  void expressionsCaseAndCastBecomeACalc() {
    QueryGraph g = compile(GEN + SINK
        + "INSERT INTO sink SELECT UPPER(`key`) AS k, `value` * 2 + 1 AS v2, CAST(`value` AS DOUBLE) AS d,\n"
        + " CASE WHEN `value` >= 500 THEN 'high' ELSE 'low' END AS level, MASK(owner) AS who FROM s WHERE `value` % 2 = 0").graph();
    Expr v = new Expr.Ref("value");
    Expr where = new Expr.Call(Fn.EQ, List.of(new Expr.Call(Fn.MOD, List.of(v, new Expr.Lit(2L, FieldType.LONG))), new Expr.Lit(0L, FieldType.LONG)));
    assertShape(List.of(
        node("s", GENERATE),
        node("c", new OperatorSpec.Calc(where, List.of(
            new Expr.Column("k", new Expr.Call(Fn.UPPER, List.of(new Expr.Ref("key")))),
            new Expr.Column("v2", new Expr.Call(Fn.PLUS, List.of(new Expr.Call(Fn.TIMES, List.of(v, new Expr.Lit(2L, FieldType.LONG))), new Expr.Lit(1L, FieldType.LONG)))),
            new Expr.Column("d", new Expr.Cast(v, FieldType.DOUBLE)),
            new Expr.Column("level", new Expr.Case(List.of(new Expr.When(new Expr.Call(Fn.GE, List.of(v, new Expr.Lit(500L, FieldType.LONG))), new Expr.Lit("high", FieldType.STRING))), new Expr.Lit("low", FieldType.STRING))),
            new Expr.Column("who", new Expr.Call(Fn.MASK, List.of(new Expr.Ref("owner")))))), "s"),
        node("sink", new OperatorSpec.Collect(), "c")), g);
    NodeSpec calc = g.compile().get(1);
    assertEquals(List.of(Field.of("k", FieldType.STRING), Field.of("v2", FieldType.LONG), Field.of("d", FieldType.DOUBLE),
        Field.of("level", FieldType.STRING), Field.of("who", FieldType.STRING)), calc.outputSchema().fields());
  }

  @Test
  void piiColumnsFeedThePiiRule() {
    QueryGraph g = compile(GEN + SINK + "INSERT INTO sink SELECT `key`, owner FROM s").graph();
    NodeSpec sink = g.compile().stream().filter(n -> n.id().value().equals("sink")).findFirst().orElseThrow();
    assertTrue(sink.receivesPii());
    assertTrue(sink.inputSchema().field("owner").orElseThrow().pii());
    QueryGraph tableOption = compile(
        "CREATE TABLE r (id STRING, email STRING) WITH ('connector' = 'files', 'path' = '/x', 'pii-columns' = 'email');\n" + SINK
            + "INSERT INTO sink SELECT UPPER(email) AS e FROM r").graph();
    assertTrue(tableOption.compile().get(1).outputSchema().field("e").orElseThrow().pii(), "a value computed from PII is PII");
  }

  @Test
  void tumbleHopAndSessionBecomeWindows() {
    String select = "SELECT `key`, window_start, window_end, COUNT(*) AS n, AVG(`value`) AS mean FROM TABLE(";
    String group = ") GROUP BY `key`, window_start, window_end";
    List<Aggregate> aggs = List.of(new Aggregate(AggregateFn.COUNT, null, "n"), new Aggregate(AggregateFn.AVG, "value", "mean"));
    OperatorSpec.Project drop = new OperatorSpec.Project(List.of(), List.of("owner"), List.of());
    assertShape(List.of(node("s", GENERATE), node("p", drop, "s"),
            node("w", new OperatorSpec.Window("key", "ts", 60_000, 50, aggs), "p"), node("sink", new OperatorSpec.Collect(), "w")),
        compile(GEN + SINK + "INSERT INTO sink " + select + "TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' MINUTE)" + group).graph());
    assertShape(List.of(node("s", GENERATE), node("p", drop, "s"),
            node("w", new OperatorSpec.HopWindow("key", "ts", 10_000, 2_000, 50, aggs), "p"), node("sink", new OperatorSpec.Collect(), "w")),
        compile(GEN + SINK + "INSERT INTO sink " + select + "HOP(TABLE s, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)" + group).graph());
    assertShape(List.of(node("s", GENERATE), node("p", drop, "s"),
            node("w", new OperatorSpec.SessionWindow("key", "ts", 500, 50, aggs), "p"), node("sink", new OperatorSpec.Collect(), "w")),
        compile(GEN + SINK + "INSERT INTO sink " + select + "SESSION(TABLE s PARTITION BY `key`, DESCRIPTOR(ts), INTERVAL '0.5' SECOND)" + group).graph());
    assertEquals(
        Graphs.shape(compile(GEN + SINK + "INSERT INTO sink " + select + "SESSION(TABLE s PARTITION BY `key`, DESCRIPTOR(ts), INTERVAL '0.5' SECOND)" + group).graph()),
        Graphs.shape(compile(GEN + SINK + "INSERT INTO sink " + select + "SESSION(TABLE s, DESCRIPTOR(ts), DESCRIPTOR(`key`), INTERVAL '0.5' SECOND)" + group).graph()),
        "Flink's and Calcite's SESSION spellings compile alike");
  }

  @Test
  void countOfAColumnCountsItsNonNullValues() {
    QueryGraph g = compile(GEN + SINK + "INSERT INTO sink SELECT `key`, window_start, window_end, COUNT(owner) AS owned, COUNT(*) AS n"
        + " FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`, window_start, window_end").graph();
    OperatorSpec.Window w = g.nodes().stream().map(NodeDef::op).filter(o -> o instanceof OperatorSpec.Window).map(o -> (OperatorSpec.Window) o)
        .findFirst().orElseThrow();
    assertEquals(List.of(new Aggregate(AggregateFn.SUM, "arg1", "owned"), new Aggregate(AggregateFn.COUNT, null, "n")), w.aggregates());
    NodeSpec calc = g.compile().stream().filter(n -> n.op() instanceof OperatorSpec.Calc).findFirst().orElseThrow();
    Expr indicator = ((OperatorSpec.Calc) calc.op()).columns().stream().filter(c -> c.name().equals("arg1")).findFirst().orElseThrow().expr();
    // The indicator is 1 for a value and 0 for null, so its window sum is COUNT(owner).
    io.ferry.query.ops.Exprs.Eval eval = io.ferry.query.ops.Exprs.compile(indicator, calc.inputSchema());
    int owner = calc.inputSchema().names().indexOf("owner");
    Object[] row = new Object[calc.inputSchema().names().size()];
    row[owner] = "ann";
    assertEquals(1L, eval.eval(io.ferry.query.Row.wrap(row.clone())));
    row[owner] = null;
    assertEquals(0L, eval.eval(io.ferry.query.Row.wrap(row)));
    assertEquals("owned", g.compile().stream().filter(n -> n.op() instanceof OperatorSpec.Collect).findFirst().orElseThrow()
        .inputSchema().names().get(3));
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key`, window_start, window_end, COUNT(nope) AS n"
        + " FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`, window_start, window_end", 4, 64, "unknown column");
  }

  @Test
  void aRenamedKeyAndExpressionsOverAggregatesGetACalcAfterTheWindow() {
    QueryGraph g = compile(FILE_IN + SINK
        + "INSERT INTO sink SELECT id, window_end, MAX(temp) - MIN(temp) AS spread FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(t), INTERVAL '10' SECOND))"
        + " GROUP BY id, window_start, window_end HAVING COUNT(*) > 1").graph();
    List<NodeSpec> specs = g.compile();
    OperatorSpec.Window w = (OperatorSpec.Window) specs.get(1).op();
    assertEquals(List.of(AggregateFn.MAX, AggregateFn.MIN, AggregateFn.COUNT), w.aggregates().stream().map(Aggregate::fn).toList());
    NodeSpec calc = specs.get(2);
    assertEquals(List.of("id", "window_end", "spread"), calc.outputSchema().names());
    assertTrue(((OperatorSpec.Calc) calc.op()).where() != null, "HAVING becomes the calc's condition");
  }

  @Test
  void unionAllIntoASinkFeedsTheSinkAndElsewhereIsAUnionNode() {
    String two = GEN + "CREATE TABLE s2 (`key` STRING, `value` BIGINT, ts TIMESTAMP(3), owner STRING) WITH ('connector' = 'generator', 'seed' = '4', 'count' = '100');\n";
    QueryGraph direct = compile(two + SINK + "INSERT INTO sink SELECT `key` FROM s UNION ALL SELECT `key` FROM s2").graph();
    NodeDef sink = direct.nodes().get(direct.nodes().size() - 1);
    assertEquals(2, sink.inputs().size());
    QueryGraph nested = compile(two + SINK + "INSERT INTO sink SELECT `key` FROM (SELECT `key` FROM s UNION ALL SELECT `key` FROM s2) WHERE `key` = 'k1'").graph();
    assertTrue(nested.nodes().stream().anyMatch(n -> n.op() instanceof OperatorSpec.Union), Graphs.shape(nested));
  }

  @Test
  void aWindowJoinOfTwoStreams() {
    String sql = GEN + FILE_IN + SINK
        + "INSERT INTO sink SELECT L.`key`, L.window_start, L.`value`, R.temp\n"
        + "FROM (SELECT * FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND))) L\n"
        + "JOIN (SELECT * FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(t), INTERVAL '1' SECOND))) R\n"
        + "ON L.`key` = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end";
    QueryGraph g = compile(sql).graph();
    List<NodeSpec> specs = g.compile();
    NodeSpec join = specs.stream().filter(n -> n.op() instanceof OperatorSpec.WindowJoin).findFirst().orElseThrow();
    assertEquals(new OperatorSpec.WindowJoin("key", "ts", "id", "t", 1000, 50), join.op());
    assertEquals(List.of(new NodeId("s"), new NodeId("r")), join.inputs());
    NodeSpec last = specs.get(specs.size() - 2);
    assertEquals(List.of("key", "window_start", "value", "temp"), last.outputSchema().names());
  }

  @Test
  void aWindowJoinOfTwoAggregations() {
    String sql = GEN + FILE_IN + SINK
        + "INSERT INTO sink SELECT A.`key`, A.window_start, A.n, B.hot FROM\n"
        + "(SELECT `key`, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`, window_start, window_end) A\n"
        + "JOIN (SELECT id, window_start, window_end, MAX(temp) AS hot FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(t), INTERVAL '1' SECOND)) GROUP BY id, window_start, window_end) B\n"
        + "ON A.`key` = B.id AND A.window_start = B.window_start AND A.window_end = B.window_end";
    List<NodeSpec> specs = compile(sql).graph().compile();
    NodeSpec join = specs.stream().filter(n -> n.op() instanceof OperatorSpec.WindowJoin).findFirst().orElseThrow();
    assertEquals("window_start", ((OperatorSpec.WindowJoin) join.op()).leftTime());
    assertEquals(List.of("key", "window_start", "n", "hot"), specs.get(specs.size() - 2).outputSchema().names());
  }

  @Test
  void hintsAndTableOptionsPinNodes() {
    QueryCompiler.Compiled c = compile(
        "CREATE TABLE s (`key` STRING, `value` BIGINT, ts TIMESTAMP(3), owner STRING) WITH ('connector' = 'generator', 'site' = 'edge-a');\n"
            + "CREATE TABLE sink WITH ('connector' = 'collect', 'tier' = 'cloud');\n"
            + "INSERT INTO sink SELECT /*+ SITE('edge-b') */ `key` FROM s WHERE `value` > 1");
    assertEquals("edge-a", c.sites().get(new NodeId("s")));
    assertEquals("cloud", c.tiers().get(new NodeId("sink")));
    assertEquals(2, c.sites().values().stream().filter("edge-b"::equals).count(), c.sites().toString());
    assertTrue(c.notes().values().stream().anyMatch(n -> n.contains("hint SITE('edge-b') at line 3")), c.notes().toString());
  }

  @Test
  void sinkColumnsRenameByPositionAndMustMatchTypes() {
    QueryGraph g = compile(GEN + "CREATE TABLE sink (k STRING, v BIGINT) WITH ('connector' = 'files', 'path' = '/tmp/o.jsonl');\n"
        + "INSERT INTO sink SELECT `key`, `value` FROM s").graph();
    assertEquals(List.of("k", "v"), g.compile().get(g.nodes().size() - 2).outputSchema().names());
    failsAt(GEN + "CREATE TABLE sink (k STRING, v STRING) WITH ('connector' = 'collect');\nINSERT INTO sink SELECT `key`, `value` FROM s",
        4, 13, "type mismatch");
  }

  @Test
  void aBareSelectGoesToACollectSink() {
    QueryGraph g = compile(GEN + "SELECT `key` FROM s").graph();
    assertEquals(new NodeId("result"), g.nodes().get(g.nodes().size() - 1).id());
  }

  // ------------------------------------------------------------ errors with positions

  @Test
  void syntaxErrorsPointAtTheToken() {
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key` FROM s WHERE", 4, 42, "syntax error");
    failsAt(GEN + SINK + "INSERT INTO sink\nSELEC `key` FROM s", 5, 1, "syntax error");
  }

  @Test
  void unknownColumnsAndTablesAreNamed() {
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key`, nope FROM s", 4, 32, "unknown column");
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key` FROM nowhere", 4, 36, "unknown table");
    failsAt(GEN + "INSERT INTO elsewhere SELECT `key` FROM s", 3, 13, "unknown table");
  }

  @Test
  void typeMismatchesAreNamed() {
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key` + 1 AS x FROM s", 4, 25, "type mismatch");
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key` FROM s WHERE `key` > 5", 4, 44, "type mismatch");
  }

  @Test
  void nonWindowedAggregatesAreRefused() {
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key`, COUNT(*) AS n FROM s GROUP BY `key`", 4, 32, "non-windowed aggregate on an unbounded stream");
    failsAt(GEN + SINK + "INSERT INTO sink SELECT COUNT(*) AS n FROM s", 4, 25, "non-windowed aggregate");
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key`, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY `key`",
        4, 111, "GROUP BY must include window_start and window_end");
  }

  @Test
  void unsupportedConstructsAreNamed() {
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key` FROM s ORDER BY `key`", 4, 18, "unsupported construct");
    failsAt(GEN + SINK + "INSERT INTO sink SELECT DISTINCT `key` FROM s", 4, 18, "unsupported construct");
    failsAt(GEN + SINK + "INSERT INTO sink SELECT `key` FROM s UNION SELECT `key` FROM s", 4, 18, "UNION without ALL");
  }

  @Test
  void windowsNeedAWatermark() {
    failsAt("CREATE TABLE r (id STRING, t TIMESTAMP(3)) WITH ('connector' = 'files', 'path' = '/x');\n" + SINK
            + "INSERT INTO sink SELECT id, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(t), INTERVAL '1' SECOND)) GROUP BY id, window_start, window_end",
        3, 96, "not a time attribute");
  }

  @Test
  void ddlErrorsPointIntoTheDeclaration() {
    failsAt("CREATE TABLE r (id STRNG) WITH ('connector' = 'files', 'path' = '/x');\nSELECT id FROM r", 1, 20, "unknown type");
    failsAt("CREATE TABLE r (id STRING, WATERMARK FOR t AS t) WITH ('connector' = 'files', 'path' = '/x');\nSELECT id FROM r", 1, 42, "unknown column 't'");
    failsAt("CREATE TABLE r (id STRING) WITH ('connector' = 'kafka', 'topic' = 'x');\nSELECT id FROM r", 1, 1, "connector 'kafka' is not available");
    failsAt("CREATE TABLE r (id STRING) WITH ('connector' = 'files');\nSELECT id FROM r", 1, 1, "needs option 'path'");
    failsAt("CREATE TABLE r (id STRING, WATERMARK FOR id AS id) WITH ('connector' = 'files', 'path' = '/x');\nSELECT id FROM r", 1, 42, "must be a TIMESTAMP");
    failsAt("CREATE TABLE r (t TIMESTAMP, WATERMARK FOR t AS t * 2) WITH ('connector' = 'files', 'path' = '/x');\nSELECT t FROM r", 1, 49, "unsupported watermark expression");
    failsAt("CREATE TABLE r (id STRING) WITH ('connector' = 'files', 'path' = '/x', 'path' = '/y');\nSELECT id FROM r", 1, 72, "given twice");
  }

  @Test
  void unknownHintsAreRefused() {
    failsAt(GEN + SINK + "INSERT INTO sink SELECT /*+ PLACE('x') */ `key` FROM s", 4, 25, "unknown hint");
  }

  @Test
  void emptyOrDdlOnlyScriptsSayWhatIsMissing() {
    assertTrue(fails(GEN).getMessage().contains("no query"));
    assertTrue(fails("").getMessage().contains("no query"));
  }

  @Test
  void schemaOfSourcesFollowsTheDeclaration() {
    QueryGraph g = compile(FILE_IN + SINK + "INSERT INTO sink SELECT * FROM r").graph();
    assertEquals(new OperatorSpec.ReadJsonLines("/tmp/r.jsonl", Schema.of(Field.of("id", FieldType.STRING), Field.of("t", FieldType.TIMESTAMP), Field.of("temp", FieldType.DOUBLE))),
        g.nodes().get(0).op());
    assertEquals(2, g.nodes().size(), "SELECT * needs no node between source and sink");
  }
}
