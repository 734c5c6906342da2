package io.ferry.sql;

import io.ferry.query.Expr;
import io.ferry.query.Expr.Fn;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Predicate;
import io.ferry.query.QueryCompiler.Compiled;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Schema;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.calcite.sql.JoinConditionType;
import org.apache.calcite.sql.JoinType;
import org.apache.calcite.sql.SqlCall;
import org.apache.calcite.sql.SqlCharStringLiteral;
import org.apache.calcite.sql.SqlDataTypeSpec;
import org.apache.calcite.sql.SqlHint;
import org.apache.calcite.sql.SqlIdentifier;
import org.apache.calcite.sql.SqlInsert;
import org.apache.calcite.sql.SqlIntervalLiteral;
import org.apache.calcite.sql.SqlJoin;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlLiteral;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;
import org.apache.calcite.sql.SqlNumericLiteral;
import org.apache.calcite.sql.SqlSelect;
import org.apache.calcite.sql.SqlSetOperator;
import org.apache.calcite.sql.SqlTimestampLiteral;
import org.apache.calcite.sql.fun.SqlCase;
import org.apache.calcite.sql.parser.SqlParserPos;
import org.apache.calcite.sql.type.SqlTypeName;
import org.apache.calcite.sql.validate.SqlValidator;
import org.apache.calcite.util.TimestampString;

/**
 * Turns validated statements into graph nodes: sources and sinks per table, and per SELECT the
 * filter, projection, window and join nodes the JSON form would have. Each node remembers the SQL
 * it came from, so a graph error points at the user's text.
 */
final class Converter {
  private static final Pattern NODE_IN_MESSAGE = Pattern.compile("node '([^']+)'");
  private static final Set<String> WINDOW_BOUNDS = Set.of("window_start", "window_end");

  private final QueryId id;
  private final Map<String, TableDef> tables = new LinkedHashMap<>();
  private final SqlValidator validator;
  private final Map<String, SqlConnector> connectors;

  private final Map<NodeId, NodeDef> nodes = new LinkedHashMap<>();
  private final Map<NodeId, SqlParserPos> positions = new HashMap<>();
  private final Map<NodeId, String> sites = new LinkedHashMap<>();
  private final Map<NodeId, String> tiers = new LinkedHashMap<>();
  private final Map<NodeId, String> notes = new LinkedHashMap<>();
  private final Map<String, Rel> sources = new HashMap<>();
  private final Map<String, List<NodeId>> sinkInputs = new LinkedHashMap<>();
  private final Map<String, SqlParserPos> sinkPositions = new HashMap<>();
  private int counter;

  /** The pin of the SELECT being converted (from its hints), applied to every node it creates. */
  private Pin pin = Pin.NONE;

  Converter(QueryId id, List<TableDef> tables, SqlValidator validator, Map<String, SqlConnector> connectors) {
    this.id = id;
    tables.forEach(t -> this.tables.put(t.name(), t));
    this.validator = validator;
    this.connectors = connectors;
  }

  /** A site or tier pin and what set it, for --explain. */
  private record Pin(String site, String tier, String reason) {
    static final Pin NONE = new Pin(null, null, null);
  }

  /**
   * A stream produced by a node: its schema, its time attributes (field → allowed lateness) and,
   * for a windowed aggregation's output, its window size (a window join can take it as input).
   */
  private record Rel(NodeId node, Schema schema, Map<String, Long> times, Long windowSizeMs, boolean tumbling) {
    Rel {
      times = Map.copyOf(times);
    }
  }

  Compiled convert(SqlNodeList statements) {
    for (SqlNode stmt : statements) {
      if (stmt instanceof SqlInsert insert) {
        insert(insert);
      } else if (stmt.getKind().belongsTo(SqlKind.QUERY)) {
        toSink("result", Optional.empty(), stmt, stmt.getParserPosition());
      } else {
        throw error(stmt, "unsupported construct: " + stmt.getKind() + " statements; write INSERT INTO sink SELECT ...");
      }
    }
    for (Map.Entry<String, List<NodeId>> s : sinkInputs.entrySet()) {
      TableDef t = tables.get(s.getKey());
      NodeId sink = new NodeId(nodeName(s.getKey()));
      OperatorSpec op = t == null ? new OperatorSpec.Collect() : sinkOp(t, sinkPositions.get(s.getKey()));
      nodes.put(sink, new NodeDef(sink, op, s.getValue()));
      positions.put(sink, sinkPositions.get(s.getKey()));
      notes.put(sink, "sink " + s.getKey() + " (" + (t == null ? "collect: a bare SELECT" : t.option("connector").orElse("?")) + ")");
      if (t != null) {
        tablePin(t, sink);
      }
    }
    QueryGraph graph = new QueryGraph(id, new ArrayList<>(nodes.values()));
    try {
      graph.compile();
    } catch (QueryException e) {
      Matcher m = NODE_IN_MESSAGE.matcher(e.getMessage());
      SqlParserPos pos = m.find() ? positions.getOrDefault(safeNode(m.group(1)), SqlParserPos.ZERO) : SqlParserPos.ZERO;
      throw new SqlCompileException(Math.max(1, pos.getLineNum()), Math.max(1, pos.getColumnNum()), e.getMessage());
    }
    return new Compiled(graph, sites, tiers, notes);
  }

  private static NodeId safeNode(String name) {
    try {
      return new NodeId(name);
    } catch (QueryException e) {
      return new NodeId("unknown");
    }
  }

  private void insert(SqlInsert insert) {
    SqlNode target = insert.getTargetTable();
    if (!(target instanceof SqlIdentifier tid) || !tid.isSimple()) {
      throw error(target, "unsupported construct: INSERT INTO needs a table name");
    }
    TableDef t = tables.get(tid.getSimple());
    if (t == null) {
      throw error(target, "unknown table: '" + tid.getSimple() + "' is not declared; declare it with CREATE TABLE ... WITH ('connector' = ...)");
    }
    if (insert.getTargetColumnList() != null && !insert.getTargetColumnList().isEmpty()) {
      throw error(insert.getTargetColumnList(), "unsupported construct: a column list after INSERT INTO; select the sink's columns in order instead");
    }
    sinkOp(t, target.getParserPosition());
    toSink(t.name(), Optional.of(t), insert.getSource(), target.getParserPosition());
  }

  private void toSink(String sink, Optional<TableDef> table, SqlNode query, SqlParserPos pos) {
    if (sources.containsKey(sink)) {
      throw error(pos, "table " + sink + " is both read and written by this query");
    }
    SqlNode validated = validator.validate(query);
    List<Rel> branches = new ArrayList<>();
    flattenUnion(validated, branches);
    for (Rel r : branches) {
      Rel shaped = table.isPresent() && !table.get().columns().isEmpty() ? conform(r, table.get(), pos) : r;
      sinkInputs.computeIfAbsent(sink, k -> new ArrayList<>()).add(shaped.node());
      sinkPositions.putIfAbsent(sink, pos);
    }
  }

  /** UNION ALL branches straight into a sink become its inputs, as in the JSON form; anywhere else a union node. */
  private void flattenUnion(SqlNode q, List<Rel> out) {
    if (isUnionAll(q)) {
      for (SqlNode o : ((SqlCall) q).getOperandList()) {
        flattenUnion(o, out);
      }
    } else {
      out.add(query(q));
    }
  }

  private static boolean isUnionAll(SqlNode q) {
    return q.getKind() == SqlKind.UNION && q instanceof SqlCall c && c.getOperator() instanceof SqlSetOperator op && op.isAll();
  }

  /** A branch's columns renamed to the sink's declared names (by position, as Flink does); types must agree. */
  private Rel conform(Rel r, TableDef sink, SqlParserPos pos) {
    List<Field> got = r.schema().fields();
    List<TableDef.Column> want = sink.columns();
    if (got.size() != want.size()) {
      throw error(pos, "type mismatch: the query gives " + got.size() + " columns " + r.schema().names() + " but table "
          + sink.name() + " has " + want.size() + " " + sink.schema().names());
    }
    boolean same = true;
    for (int i = 0; i < got.size(); i++) {
      if (got.get(i).type() != want.get(i).type()) {
        throw error(pos, "type mismatch: column " + (i + 1) + " of the query ('" + got.get(i).name() + "') is " + got.get(i).type()
            + " but column '" + want.get(i).name() + "' of table " + sink.name() + " is " + want.get(i).type());
      }
      same &= got.get(i).name().equals(want.get(i).name());
    }
    if (same) {
      return r;
    }
    List<Expr.Column> cols = new ArrayList<>();
    for (int i = 0; i < got.size(); i++) {
      cols.add(new Expr.Column(want.get(i).name(), new Expr.Ref(got.get(i).name())));
    }
    return add("rename", new OperatorSpec.Calc(null, cols), List.of(r), pos, "renames columns to table " + sink.name() + "'s", Map.of(), null);
  }

  private Rel query(SqlNode q) {
    if (q instanceof SqlSelect s) {
      return select(s);
    }
    if (isUnionAll(q)) {
      List<Rel> parts = new ArrayList<>();
      flattenUnion(q, parts);
      Map<String, Long> times = new HashMap<>(parts.get(0).times());
      parts.forEach(p -> times.keySet().retainAll(p.times().keySet()));
      return add("union", new OperatorSpec.Union(), parts, q.getParserPosition(), "UNION ALL", maxTimes(parts, times.keySet()), null);
    }
    if (q.getKind() == SqlKind.UNION) {
      throw error(q, "unsupported construct: UNION without ALL needs to remember every row of an unbounded stream; use UNION ALL");
    }
    if (q.getKind() == SqlKind.ORDER_BY) {
      throw error(q, "unsupported construct: ORDER BY / LIMIT on an unbounded stream");
    }
    throw error(q, "unsupported construct: " + q.getKind() + " as a query");
  }

  private static Map<String, Long> maxTimes(List<Rel> parts, Set<String> names) {
    Map<String, Long> out = new HashMap<>();
    for (String n : names) {
      out.put(n, parts.stream().mapToLong(p -> p.times().get(n)).max().orElse(0));
    }
    return out;
  }

  // ---------------------------------------------------------------- SELECT

  private Rel select(SqlSelect s) {
    Pin outer = pin;
    pin = hints(s, outer);
    try {
      if (s.isDistinct()) {
        throw error(s, "unsupported construct: SELECT DISTINCT on an unbounded stream");
      }
      if (s.getOrderList() != null && !s.getOrderList().isEmpty() || s.getFetch() != null || s.getOffset() != null) {
        throw error(s, "unsupported construct: ORDER BY / LIMIT on an unbounded stream");
      }
      if (s.getWindowList() != null && !s.getWindowList().isEmpty()) {
        throw error(s.getWindowList(), "unsupported construct: WINDOW clauses (OVER); use TUMBLE, HOP or SESSION table functions");
      }
      SqlNode from = unwrapAs(s.getFrom());
      boolean grouped = s.getGroup() != null && !s.getGroup().isEmpty();
      List<SqlCall> aggs = aggregates(s);
      if (grouped || !aggs.isEmpty()) {
        return windowed(s, from, aggs);
      }
      if (s.getHaving() != null) {
        throw error(s.getHaving(), "unsupported construct: HAVING without GROUP BY");
      }
      if (from instanceof SqlJoin j) {
        return join(s, j);
      }
      if (isTvf(from)) {
        throw error(from, "unsupported construct: a window table function must be aggregated (GROUP BY window_start, window_end, key) or joined");
      }
      Rel in = relation(from);
      return project(s, in, Scope.single(in.schema()));
    } finally {
      pin = outer;
    }
  }

  /** The WHERE and select list over {@code in}: a filter, a projection or a calc, or nothing for SELECT *. */
  private Rel project(SqlSelect s, Rel in, Scope scope) {
    SqlParserPos pos = s.getParserPosition();
    List<String> names = outputNames(s);
    List<SqlNode> items = s.getSelectList().getList();
    Rel cur = in;
    Expr where = null;
    if (s.getWhere() != null) {
      Optional<Predicate> simple = predicate(s.getWhere(), scope, cur.schema());
      if (simple.isPresent()) {
        cur = add("filter", new OperatorSpec.Filter(simple.get()), List.of(cur), s.getWhere().getParserPosition(), "WHERE " + one(s.getWhere()), cur.times(), null);
      } else {
        where = checked(expr(s.getWhere(), scope), s.getWhere(), cur.schema());
      }
    }
    List<String> plain = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      SqlNode item = unwrapAs(items.get(i));
      if (item instanceof SqlIdentifier idf && scope.field(idf).equals(names.get(i))) {
        plain.add(names.get(i));
      }
    }
    List<String> inputNames = cur.schema().names();
    if (where == null && plain.size() == items.size()) {
      if (plain.equals(inputNames)) {
        return cur;
      }
      if (isSubsequence(plain, inputNames)) {
        List<String> drop = new ArrayList<>(inputNames);
        drop.removeAll(plain);
        return add("project", new OperatorSpec.Project(List.of(), drop, List.of()), List.of(cur), pos, "drops " + drop, keep(cur.times(), plain), null);
      }
    }
    List<Expr.Column> cols = new ArrayList<>();
    Map<String, Long> times = new HashMap<>();
    for (int i = 0; i < items.size(); i++) {
      SqlNode item = unwrapAs(items.get(i));
      Expr e = checked(expr(item, scope), item, cur.schema());
      cols.add(new Expr.Column(names.get(i), e));
      if (e instanceof Expr.Ref r && cur.times().containsKey(r.field())) {
        times.put(names.get(i), cur.times().get(r.field()));
      }
    }
    return add("calc", new OperatorSpec.Calc(where, cols), List.of(cur), pos, "computes " + names + (where == null ? "" : " WHERE " + one(s.getWhere())), times, null);
  }

  private static boolean isSubsequence(List<String> sub, List<String> all) {
    int k = 0;
    for (String a : all) {
      if (k < sub.size() && sub.get(k).equals(a)) {
        k++;
      }
    }
    return k == sub.size();
  }

  private static Map<String, Long> keep(Map<String, Long> times, List<String> names) {
    Map<String, Long> out = new HashMap<>(times);
    out.keySet().retainAll(names);
    return out;
  }

  /** Output column names: Calcite's (aliases, or generated ones made legal Ferry names). */
  private List<String> outputNames(SqlSelect s) {
    List<String> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (String n : validator.getValidatedNodeType(s).getFieldNames()) {
      String name = n.replaceAll("[^A-Za-z0-9_.-]", "_");
      if (name.isEmpty() || !Character.isLetterOrDigit(name.charAt(0))) {
        name = "c" + name;
      }
      if (!seen.add(name)) {
        throw error(s.getSelectList(), "column name '" + name + "' appears twice in the select list; give each column its own alias");
      }
      out.add(name);
    }
    return out;
  }

  // ---------------------------------------------------------------- windows

  private record Tvf(String kind, Rel input, String time, long sizeMs, long slideMs, String partitionKey, SqlCall call) {}

  private static boolean isTvf(SqlNode from) {
    return from != null && from.getKind() == SqlKind.COLLECTION_TABLE;
  }

  private Tvf tvf(SqlNode from) {
    SqlCall table = (SqlCall) from;
    if (!(table.operand(0) instanceof SqlCall fn)) {
      throw error(from, "unsupported construct: TABLE(...) of something other than TUMBLE, HOP or SESSION");
    }
    String kind = fn.getOperator().getName().toUpperCase(Locale.ROOT);
    if (!Set.of("TUMBLE", "HOP", "SESSION").contains(kind)) {
      throw error(fn, "unsupported construct: table function " + kind + "; Ferry has TUMBLE, HOP and SESSION");
    }
    List<SqlNode> ops = fn.getOperandList();
    SqlNode data = ops.get(0);
    String partition = null;
    if (data.getKind() == SqlKind.SET_SEMANTICS_TABLE) {
      SqlCall set = (SqlCall) data;
      SqlNodeList keys = (SqlNodeList) set.operand(1);
      if (keys.size() != 1) {
        throw error(keys, "unsupported construct: PARTITION BY needs exactly one column");
      }
      partition = lastName((SqlIdentifier) keys.get(0));
      data = set.operand(0);
    }
    if (data.getKind() == SqlKind.EXPLICIT_TABLE) {
      data = ((SqlCall) data).operand(0);
    }
    Rel input = data instanceof SqlIdentifier t ? table(t) : query(data);
    SqlNode desc = ops.get(1);
    if (!(desc instanceof SqlCall d) || d.operandCount() != 1 || !(d.operand(0) instanceof SqlIdentifier timeId)) {
      throw error(desc, "expected DESCRIPTOR(time_column) as the window's second argument");
    }
    String time = lastName(timeId);
    if (!input.times().containsKey(time)) {
      throw error(desc, "column '" + time + "' is not a time attribute: declare WATERMARK FOR " + time + " AS " + time
          + " - INTERVAL '1' SECOND in its CREATE TABLE");
    }
    if (kind.equals("SESSION")) {
      if (ops.size() != 4 || !(ops.get(2) instanceof SqlCall kd) || kd.operandCount() != 1 || !(kd.operand(0) instanceof SqlIdentifier keyId)) {
        throw error(fn, "SESSION takes (TABLE t PARTITION BY key, DESCRIPTOR(ts), gap) or (TABLE t, DESCRIPTOR(ts), DESCRIPTOR(key), gap)");
      }
      partition = lastName(keyId);
      long gap = millis(ops.get(3));
      return new Tvf(kind, input, lastName(timeId), gap, gap, partition, fn);
    }
    long a = millis(ops.get(2));
    long b = ops.size() > 3 ? millis(ops.get(3)) : a;
    // Flink's HOP is (data, time, slide, size).
    return kind.equals("HOP") ? new Tvf(kind, input, time, b, a, partition, fn) : new Tvf(kind, input, time, a, a, partition, fn);
  }

  private long millis(SqlNode n) {
    if (n instanceof SqlIntervalLiteral lit) {
      Long v = lit.getValueAs(Long.class);
      if (v != null && v > 0) {
        return v;
      }
    }
    throw error(n, "expected a positive INTERVAL like INTERVAL '1' SECOND");
  }

  private Rel windowed(SqlSelect s, SqlNode from, List<SqlCall> aggs) {
    if (!isTvf(from)) {
      SqlNode at = aggs.isEmpty() ? s.getGroup() : aggs.get(0);
      throw error(at, "non-windowed aggregate on an unbounded stream: aggregate over TABLE(TUMBLE|HOP|SESSION(TABLE t, DESCRIPTOR(ts), ...))"
          + " and GROUP BY window_start, window_end, key");
    }
    Tvf w = tvf(from);
    List<String> keys = new ArrayList<>();
    Set<String> bounds = new HashSet<>();
    if (s.getGroup() != null) {
      for (SqlNode g : s.getGroup()) {
        if (!(g instanceof SqlIdentifier gid)) {
          throw error(g, "unsupported construct: GROUP BY an expression; group by columns");
        }
        String name = lastName(gid);
        if (WINDOW_BOUNDS.contains(name)) {
          bounds.add(name);
        } else {
          keys.add(name);
        }
      }
    }
    if (bounds.size() != 2) {
      throw error(s.getGroup() == null ? s : s.getGroup(),
          "non-windowed aggregate on an unbounded stream: GROUP BY must include window_start and window_end");
    }
    if (keys.size() != 1) {
      throw error(s.getGroup(), "unsupported construct: GROUP BY needs exactly one key column besides window_start and window_end, got " + keys);
    }
    String key = keys.get(0);
    if (w.partitionKey() != null && !w.partitionKey().equals(key)) {
      throw error(s.getGroup(), "SESSION is partitioned by '" + w.partitionKey() + "' but grouped by '" + key + "': use the same column");
    }
    Rel in = w.input();
    Scope rowScope = Scope.single(in.schema());
    if (s.getWhere() != null) {
      for (SqlIdentifier idf : identifiers(s.getWhere())) {
        if (WINDOW_BOUNDS.contains(lastName(idf))) {
          throw error(idf, "unsupported construct: WHERE on window_start/window_end before the window; filter on the time column");
        }
      }
      Optional<Predicate> simple = predicate(s.getWhere(), rowScope, in.schema());
      in = simple.isPresent()
          ? add("filter", new OperatorSpec.Filter(simple.get()), List.of(in), s.getWhere().getParserPosition(), "WHERE " + one(s.getWhere()), in.times(), null)
          : add("filter", new OperatorSpec.Calc(expr(s.getWhere(), rowScope), identity(in.schema())), List.of(in), s.getWhere().getParserPosition(),
              "WHERE " + one(s.getWhere()), in.times(), null);
    }
    // Aggregates: names from their aliases, arguments as columns of the window's input.
    IdentityHashMap<SqlNode, String> aggNames = new IdentityHashMap<>();
    List<Aggregate> specs = new ArrayList<>();
    List<String> needed = new ArrayList<>(List.of(key, w.time()));
    Map<String, Expr> computedArgs = new LinkedHashMap<>();
    Map<SqlNode, String> aliases = aliasesOf(s);
    Set<String> used = new HashSet<>(List.of("key", "window_start", "window_end"));
    for (SqlCall a : aggs) {
      AggregateFn fn = aggregateFn(a);
      // The output's name follows the SQL's aggregate, also when it is computed as another one.
      String fnName = fn.name();
      String arg = null;
      if (fn == AggregateFn.COUNT) {
        if (a.operandCount() == 1 && !(a.operand(0) instanceof SqlIdentifier i && i.isStar())) {
          // COUNT(x) counts the rows where x is not null: the sum of a 0/1 indicator, never null itself.
          arg = "arg" + (computedArgs.size() + 1);
          computedArgs.put(arg, new Expr.Case(
              List.of(new Expr.When(new Expr.Call(Fn.IS_NOT_NULL, List.of(expr(a.operand(0), rowScope))), new Expr.Lit(1L, FieldType.LONG))),
              new Expr.Lit(0L, FieldType.LONG)));
          needed.add(arg);
          fn = AggregateFn.SUM;
        }
      } else {
        SqlNode x = a.operand(0);
        if (x instanceof SqlIdentifier xi && rowScope.has(xi)) {
          arg = rowScope.field(xi);
        } else {
          arg = "arg" + (computedArgs.size() + 1);
          computedArgs.put(arg, expr(x, rowScope));
        }
        if (!needed.contains(arg)) {
          needed.add(arg);
        }
      }
      String name = aliases.getOrDefault(a, fnName.toLowerCase(Locale.ROOT) + (specs.size() + 1));
      if (!used.add(name)) {
        name = name + "_" + (specs.size() + 1);
        used.add(name);
      }
      aggNames.put(a, name);
      specs.add(new Aggregate(fn, arg, name));
    }
    if (specs.isEmpty()) {
      throw error(s.getSelectList(), "a windowed GROUP BY needs at least one aggregate (COUNT, SUM, MIN, MAX, AVG)");
    }
    // Only what the window reads goes on: PII the query does not need is dropped before the window.
    if (!computedArgs.isEmpty()) {
      List<Expr.Column> cols = new ArrayList<>();
      for (String n : needed) {
        cols.add(new Expr.Column(n, computedArgs.containsKey(n) ? computedArgs.get(n) : new Expr.Ref(n)));
      }
      in = add("calc", new OperatorSpec.Calc(null, cols), List.of(in), w.call().getParserPosition(), "computes the aggregates' arguments", keep(in.times(), needed), null);
    } else {
      List<String> drop = new ArrayList<>(in.schema().names());
      drop.removeAll(needed);
      if (!drop.isEmpty()) {
        in = add("project", new OperatorSpec.Project(List.of(), drop, List.of()), List.of(in), w.call().getParserPosition(),
            "drops " + drop + ", which the window does not use", keep(in.times(), needed), null);
      }
    }
    long lateness = w.input().times().get(w.time());
    OperatorSpec op =
        switch (w.kind()) {
          case "TUMBLE" -> new OperatorSpec.Window(key, w.time(), w.sizeMs(), lateness, specs);
          case "HOP" -> new OperatorSpec.HopWindow(key, w.time(), w.sizeMs(), w.slideMs(), lateness, specs);
          default -> new OperatorSpec.SessionWindow(key, w.time(), w.sizeMs(), lateness, specs);
        };
    Rel win = add(w.kind().equals("TUMBLE") ? "window" : w.kind().toLowerCase(Locale.ROOT), op, List.of(in), w.call().getParserPosition(),
        w.kind() + " on " + w.time() + " by " + key, Map.of(), w.kind().equals("SESSION") ? null : w.sizeMs(), w.kind().equals("TUMBLE"));
    // The select list and HAVING over the window's output: key, window_start, window_end, aggregates.
    Scope after = new Scope(win.schema(), idf -> {
      String n = lastName(idf);
      return n.equals(key) ? "key" : n;
    }, aggNames);
    List<String> names = outputNames(s);
    List<Expr.Column> cols = new ArrayList<>();
    boolean identity = s.getHaving() == null && names.size() == win.schema().size();
    for (int i = 0; i < s.getSelectList().size(); i++) {
      SqlNode item = unwrapAs(s.getSelectList().get(i));
      Expr e = checked(expr(item, after), item, win.schema());
      cols.add(new Expr.Column(names.get(i), e));
      identity &= e instanceof Expr.Ref r && r.field().equals(win.schema().names().get(i)) && names.get(i).equals(r.field());
    }
    if (identity) {
      return win;
    }
    Expr having = s.getHaving() == null ? null : checked(expr(s.getHaving(), after), s.getHaving(), win.schema());
    Rel out = add("calc", new OperatorSpec.Calc(having, cols), List.of(win), s.getSelectList().getParserPosition(),
        "computes " + names + " from the window" + (having == null ? "" : " HAVING " + one(s.getHaving())), Map.of(),
        names.contains("window_start") ? win.windowSizeMs() : null, win.tumbling());
    return out;
  }

  private static List<Expr.Column> identity(Schema s) {
    return s.names().stream().map(n -> new Expr.Column(n, new Expr.Ref(n))).toList();
  }

  private Map<SqlNode, String> aliasesOf(SqlSelect s) {
    Map<SqlNode, String> out = new IdentityHashMap<>();
    for (SqlNode item : s.getSelectList()) {
      if (item.getKind() == SqlKind.AS) {
        SqlCall as = (SqlCall) item;
        out.put(as.operand(0), ((SqlIdentifier) as.operand(1)).getSimple());
      }
    }
    return out;
  }

  private AggregateFn aggregateFn(SqlCall a) {
    if (a.getFunctionQuantifier() != null) {
      throw error(a, "unsupported construct: " + a.getFunctionQuantifier() + " inside an aggregate");
    }
    return switch (a.getKind()) {
      case COUNT -> AggregateFn.COUNT;
      case SUM, SUM0 -> AggregateFn.SUM;
      case MIN -> AggregateFn.MIN;
      case MAX -> AggregateFn.MAX;
      case AVG -> AggregateFn.AVG;
      default -> throw error(a, "unsupported construct: aggregate " + a.getOperator().getName() + "; Ferry has COUNT, SUM, MIN, MAX, AVG");
    };
  }

  /** The aggregate calls of a SELECT (select list and HAVING), outermost first. */
  private List<SqlCall> aggregates(SqlSelect s) {
    List<SqlCall> out = new ArrayList<>();
    for (SqlNode item : s.getSelectList()) {
      collectAggregates(item, out);
    }
    if (s.getHaving() != null) {
      collectAggregates(s.getHaving(), out);
    }
    if (s.getWhere() != null) {
      List<SqlCall> inWhere = new ArrayList<>();
      collectAggregates(s.getWhere(), inWhere);
      if (!inWhere.isEmpty()) {
        throw error(inWhere.get(0), "an aggregate cannot be used in WHERE; use HAVING");
      }
    }
    return out;
  }

  private static void collectAggregates(SqlNode n, List<SqlCall> out) {
    if (n instanceof SqlCall c) {
      if (c.getOperator().isAggregator()) {
        out.add(c);
        return;
      }
      for (SqlNode o : c.getOperandList()) {
        if (o != null) {
          collectAggregates(o, out);
        }
      }
    } else if (n instanceof SqlNodeList l) {
      l.forEach(x -> collectAggregates(x, out));
    }
  }

  private static List<SqlIdentifier> identifiers(SqlNode n) {
    List<SqlIdentifier> out = new ArrayList<>();
    collectIdentifiers(n, out);
    return out;
  }

  private static void collectIdentifiers(SqlNode n, List<SqlIdentifier> out) {
    if (n instanceof SqlIdentifier i) {
      out.add(i);
    } else if (n instanceof SqlCall c) {
      for (SqlNode o : c.getOperandList()) {
        if (o != null) {
          collectIdentifiers(o, out);
        }
      }
    } else if (n instanceof SqlNodeList l) {
      l.forEach(x -> collectIdentifiers(x, out));
    }
  }

  // ---------------------------------------------------------------- join

  private record Side(String alias, Rel rel, String time, long sizeMs, long lateness, SqlNode node) {}

  private Rel join(SqlSelect s, SqlJoin j) {
    if (j.getJoinType() != JoinType.INNER || j.getConditionType() != JoinConditionType.ON) {
      throw error(j, "unsupported construct: only [INNER] JOIN ... ON of two windowed streams (a window join)");
    }
    Side left = side(j.getLeft());
    Side right = side(j.getRight());
    if (left.sizeMs() != right.sizeMs()) {
      throw error(j, "a window join needs windows of one size on both sides, got " + left.sizeMs() + " ms and " + right.sizeMs() + " ms");
    }
    String leftKey = null;
    String rightKey = null;
    Set<String> bounds = new HashSet<>();
    for (SqlNode c : conjuncts(j.getCondition())) {
      if (c.getKind() != SqlKind.EQUALS || !(((SqlCall) c).operand(0) instanceof SqlIdentifier a) || !(((SqlCall) c).operand(1) instanceof SqlIdentifier b)) {
        throw error(c, "unsupported construct: a window join's ON is L.key = R.key AND L.window_start = R.window_start AND L.window_end = R.window_end");
      }
      SqlIdentifier l = alias(a).equals(left.alias()) ? a : b;
      SqlIdentifier r = l == a ? b : a;
      if (!alias(l).equals(left.alias()) || !alias(r).equals(right.alias())) {
        throw error(c, "each side of '=' must name a column of a different side of the join");
      }
      String ln = lastName(l);
      String rn = lastName(r);
      if (WINDOW_BOUNDS.contains(ln) || WINDOW_BOUNDS.contains(rn)) {
        if (!ln.equals(rn)) {
          throw error(c, "join window_start with window_start and window_end with window_end");
        }
        bounds.add(ln);
      } else if (leftKey != null) {
        throw error(c, "unsupported construct: a window join on more than one key column");
      } else {
        leftKey = ln;
        rightKey = rn;
      }
    }
    if (leftKey == null || bounds.size() != 2) {
      throw error(j.getCondition(), "a window join's ON needs one key equality and L.window_start = R.window_start AND L.window_end = R.window_end");
    }
    OperatorSpec.WindowJoin op =
        new OperatorSpec.WindowJoin(leftKey, left.time(), rightKey, right.time(), left.sizeMs(), Math.max(left.lateness(), right.lateness()));
    Rel joined = add("join", op, List.of(left.rel(), right.rel()), j.getParserPosition(),
        "window join on " + leftKey + " = " + rightKey, Map.of(), left.sizeMs(), true);
    // Names in the join's output: left fields as they are, right fields renamed on a clash.
    Set<String> leftNames = new HashSet<>(left.rel().schema().names());
    leftNames.removeAll(WINDOW_BOUNDS);
    Function<SqlIdentifier, String> resolve = idf -> {
      String n = lastName(idf);
      if (WINDOW_BOUNDS.contains(n)) {
        return n;
      }
      String a = alias(idf);
      if (a.equals(right.alias())) {
        return leftNames.contains(n) ? "right_" + n : n;
      }
      return n;
    };
    return project(s, joined, new Scope(joined.schema(), resolve, new IdentityHashMap<>()));
  }

  private Side side(SqlNode n) {
    if (n.getKind() != SqlKind.AS) {
      throw error(n, "give each side of a window join an alias: (...) AS L JOIN (...) AS R");
    }
    SqlCall as = (SqlCall) n;
    String alias = ((SqlIdentifier) as.operand(1)).getSimple();
    SqlNode inner = as.operand(0);
    if (isTvf(inner)) {
      Tvf w = tvf(inner);
      requireTumble(w);
      return new Side(alias, w.input(), w.time(), w.sizeMs(), w.input().times().get(w.time()), inner);
    }
    if (inner instanceof SqlSelect sub) {
      SqlNode from = unwrapAs(sub.getFrom());
      boolean grouped = sub.getGroup() != null && !sub.getGroup().isEmpty();
      if (grouped) {
        Rel r = select(sub);
        if (r.windowSizeMs() == null || !r.tumbling() || !r.schema().names().contains("window_start")) {
          throw error(sub, "a window join's side must be a TUMBLE aggregation that selects window_start and window_end");
        }
        // Windows arrive in start order, so window_start needs no lateness.
        return new Side(alias, r, "window_start", r.windowSizeMs(), 0, sub);
      }
      if (isTvf(from)) {
        Pin outer = pin;
        pin = hints(sub, outer);
        try {
          Tvf w = tvf(from);
          requireTumble(w);
          Rel r = project(withoutBounds(sub), w.input(), Scope.single(w.input().schema()));
          if (!r.times().containsKey(w.time())) {
            throw error(sub, "a window join's side must keep its time column '" + w.time() + "'");
          }
          return new Side(alias, r, w.time(), w.sizeMs(), r.times().get(w.time()), sub);
        } finally {
          pin = outer;
        }
      }
    }
    throw error(n, "a window join's sides must be TABLE(TUMBLE(...)) or a subquery over one");
  }

  private void requireTumble(Tvf w) {
    if (!w.kind().equals("TUMBLE")) {
      throw error(w.call(), "unsupported construct: a window join over " + w.kind() + " windows; use TUMBLE");
    }
  }

  /** The subquery without window_start/window_end in its select list: the join adds its own. */
  private SqlSelect withoutBounds(SqlSelect sub) {
    SqlNodeList kept = new SqlNodeList(sub.getSelectList().getParserPosition());
    for (SqlNode item : sub.getSelectList()) {
      SqlNode x = unwrapAs(item);
      if (!(x instanceof SqlIdentifier i && WINDOW_BOUNDS.contains(lastName(i)))) {
        kept.add(item);
      }
    }
    if (kept.size() == sub.getSelectList().size()) {
      return sub;
    }
    SqlSelect copy = new SqlSelect(sub.getParserPosition(), null, kept, sub.getFrom(), sub.getWhere(), null, null, null, null, null, null, null, sub.getHints());
    validator.validate(copy);
    return copy;
  }

  private static List<SqlNode> conjuncts(SqlNode c) {
    List<SqlNode> out = new ArrayList<>();
    if (c.getKind() == SqlKind.AND) {
      for (SqlNode o : ((SqlCall) c).getOperandList()) {
        out.addAll(conjuncts(o));
      }
    } else {
      out.add(c);
    }
    return out;
  }

  private static String alias(SqlIdentifier i) {
    return i.names.size() > 1 ? i.names.get(0) : "";
  }

  // ---------------------------------------------------------------- FROM

  private Rel relation(SqlNode from) {
    if (from == null) {
      throw error(SqlParserPos.ZERO, "unsupported construct: SELECT without FROM");
    }
    if (from instanceof SqlIdentifier t) {
      return table(t);
    }
    if (from instanceof SqlSelect || isUnionAll(from)) {
      return query(from);
    }
    throw error(from, "unsupported construct: " + from.getKind() + " in FROM");
  }

  private Rel table(SqlIdentifier t) {
    String name = lastName(t);
    Rel known = sources.get(name);
    if (known != null) {
      return known;
    }
    TableDef def = tables.get(name);
    if (def == null) {
      throw error(t, "unknown table: '" + name + "'");
    }
    if (sinkInputs.containsKey(name)) {
      throw error(t, "table " + name + " is both read and written by this query");
    }
    String connector = def.option("connector").orElseThrow(() -> def.error("no 'connector' option: add WITH ('connector' = 'generator' | 'files' | ...)"));
    SqlConnector c = connector(def, connector);
    OperatorSpec op;
    try {
      op = c.source(name, def.schema(), def.options());
    } catch (QueryException e) {
      throw def.error(e.getMessage());
    }
    NodeId node = new NodeId(nodeName(name));
    nodes.put(node, new NodeDef(node, op, List.of()));
    positions.put(node, t.getParserPosition());
    notes.put(node, "source " + name + " (" + connector + ")");
    tablePin(def, node);
    Schema schema = op instanceof OperatorSpec.Generate ? withPii(OperatorSpec.Generate.SCHEMA, def.schema()) : def.schema();
    Map<String, Long> times = new HashMap<>();
    def.watermark().ifPresent(w -> times.put(w.column(), w.latenessMs()));
    Rel r = new Rel(node, schema, times, null, false);
    sources.put(name, r);
    return r;
  }

  /** The generator's schema with the PII marks it has, plus any the declaration adds. */
  private static Schema withPii(Schema emits, Schema declared) {
    List<Field> out = new ArrayList<>();
    for (Field f : emits.fields()) {
      boolean pii = f.pii() || declared.field(f.name()).map(Field::pii).orElse(false);
      out.add(new Field(f.name(), f.type(), pii));
    }
    return new Schema(out);
  }

  private SqlConnector connector(TableDef def, String connector) {
    SqlConnector c = connectors.get(connector);
    if (c == null) {
      throw def.error("connector '" + connector + "' is not available in this build; available: " + connectors.keySet()
          + (Set.of("kafka", "mqtt").contains(connector) ? " (Kafka and MQTT connectors register when their module is on the class path)" : ""));
    }
    return c;
  }

  private OperatorSpec sinkOp(TableDef t, SqlParserPos pos) {
    String connector = t.option("connector").orElseThrow(() -> t.error("no 'connector' option: add WITH ('connector' = 'collect' | 'files' | ...)"));
    try {
      return connector(t, connector).sink(t.name(), t.options());
    } catch (SqlCompileException e) {
      throw e;
    } catch (QueryException e) {
      throw t.error(e.getMessage());
    }
  }

  private void tablePin(TableDef t, NodeId node) {
    t.option("site").ifPresent(site -> {
      sites.put(node, site);
      notes.merge(node, "; pinned to site " + site + " by table " + t.name() + "'s option 'site'", String::concat);
    });
    t.option("tier").ifPresent(tier -> {
      tiers.put(node, tier);
      notes.merge(node, "; pinned to tier " + tier + " by table " + t.name() + "'s option 'tier'", String::concat);
    });
  }

  private String nodeName(String table) {
    String n = table.replaceAll("[^A-Za-z0-9_.-]", "_");
    return n.isEmpty() || !Character.isLetterOrDigit(n.charAt(0)) ? "t" + n : n.length() > 64 ? n.substring(0, 64) : n;
  }

  // ---------------------------------------------------------------- hints

  private Pin hints(SqlSelect s, Pin outer) {
    Pin p = outer;
    if (s.getHints() == null) {
      return p;
    }
    for (SqlNode h : s.getHints()) {
      SqlHint hint = (SqlHint) h;
      String name = hint.getName().toUpperCase(Locale.ROOT);
      List<String> args = hint.getOptionList();
      if (!Set.of("SITE", "TIER").contains(name) || args.size() != 1) {
        throw error(h, "unknown hint " + hint.getName() + ": Ferry knows /*+ SITE('edge-a') */ and /*+ TIER('edge'|'cloud') */");
      }
      String v = args.get(0);
      String where = "hint " + name + "('" + v + "') at line " + h.getParserPosition().getLineNum();
      if (name.equals("SITE")) {
        p = new Pin(v, p.tier(), where);
      } else {
        if (!v.equals("edge") && !v.equals("cloud")) {
          throw error(h, "TIER must be 'edge' or 'cloud', got '" + v + "'");
        }
        p = new Pin(p.site(), v, where);
      }
    }
    return p;
  }

  // ---------------------------------------------------------------- nodes

  private Rel add(String kind, OperatorSpec op, List<Rel> inputs, SqlParserPos pos, String note, Map<String, Long> times, Long windowSizeMs) {
    return add(kind, op, inputs, pos, note, times, windowSizeMs, false);
  }

  private Rel add(String kind, OperatorSpec op, List<Rel> inputs, SqlParserPos pos, String note, Map<String, Long> times, Long windowSizeMs, boolean tumbling) {
    NodeId node = new NodeId(kind + "-" + ++counter);
    String where = "line " + pos.getLineNum() + ", column " + pos.getColumnNum();
    Schema out;
    try {
      out = op instanceof OperatorSpec.WindowJoin wj
          ? QueryGraph.joinSchema(wj, inputs.get(0).schema(), inputs.get(1).schema(), kind)
          : QueryGraph.outputSchema(op, inputs.get(0).schema(), kind);
      if (op instanceof OperatorSpec.Union) {
        for (Rel r : inputs) {
          if (!r.schema().equals(inputs.get(0).schema())) {
            throw new QueryException("UNION ALL branches differ: " + inputs.get(0).schema() + " and " + r.schema());
          }
        }
      }
    } catch (SqlCompileException e) {
      throw e;
    } catch (QueryException e) {
      throw error(pos, e.getMessage());
    }
    nodes.put(node, new NodeDef(node, op, inputs.stream().map(Rel::node).toList()));
    positions.put(node, pos);
    String n = note + " (" + where + ")";
    if (pin.site() != null) {
      sites.put(node, pin.site());
      n += "; pinned to site " + pin.site() + " by " + pin.reason();
    }
    if (pin.tier() != null) {
      tiers.put(node, pin.tier());
      n += "; pinned to tier " + pin.tier() + " by " + pin.reason();
    }
    notes.put(node, n);
    return new Rel(node, out, times, windowSizeMs, tumbling);
  }

  // ---------------------------------------------------------------- expressions

  /** Where identifiers point: a field of the input, and aggregate calls replaced by the window's columns. */
  private record Scope(Schema schema, Function<SqlIdentifier, String> resolve, IdentityHashMap<SqlNode, String> aggregates) {
    static Scope single(Schema s) {
      return new Scope(s, Converter::lastName, new IdentityHashMap<>());
    }

    boolean has(SqlIdentifier i) {
      return schema.indexOf(resolve.apply(i)) >= 0;
    }

    String field(SqlIdentifier i) {
      return resolve.apply(i);
    }
  }

  /** The WHERE as a plain filter predicate when it is one (field op literal, AND/OR/NOT of those). */
  private Optional<Predicate> predicate(SqlNode n, Scope scope, Schema in) {
    Optional<Predicate> p = simplePredicate(n, scope);
    if (p.isEmpty()) {
      return p;
    }
    try {
      QueryGraph.checkPredicate(p.get(), in, "filter");
      return p;
    } catch (QueryException e) {
      return Optional.empty();
    }
  }

  private Optional<Predicate> simplePredicate(SqlNode n, Scope scope) {
    if (!(n instanceof SqlCall c)) {
      return Optional.empty();
    }
    switch (c.getKind()) {
      case AND, OR -> {
        List<Predicate> parts = new ArrayList<>();
        for (SqlNode o : c.getOperandList()) {
          Optional<Predicate> p = simplePredicate(o, scope);
          if (p.isEmpty()) {
            return Optional.empty();
          }
          parts.add(p.get());
        }
        return Optional.of(c.getKind() == SqlKind.AND ? new Predicate.And(parts) : new Predicate.Or(parts));
      }
      case NOT -> {
        return simplePredicate(c.operand(0), scope).map(Predicate.Not::new);
      }
      case EQUALS, NOT_EQUALS, LESS_THAN, LESS_THAN_OR_EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL -> {
        Predicate.Op op = switch (c.getKind()) {
          case EQUALS -> Predicate.Op.EQ;
          case NOT_EQUALS -> Predicate.Op.NE;
          case LESS_THAN -> Predicate.Op.LT;
          case LESS_THAN_OR_EQUAL -> Predicate.Op.LE;
          case GREATER_THAN -> Predicate.Op.GT;
          default -> Predicate.Op.GE;
        };
        if (c.operand(0) instanceof SqlIdentifier f && c.operand(1) instanceof SqlLiteral lit && scope.aggregates().isEmpty()) {
          Object v = literalValue(lit);
          if (v != null && !(lit instanceof SqlIntervalLiteral) && !(lit instanceof SqlTimestampLiteral)) {
            return Optional.of(new Predicate.Compare(scope.field(f), op, v));
          }
        }
        return Optional.empty();
      }
      default -> {
        return Optional.empty();
      }
    }
  }

  private static Object literalValue(SqlLiteral lit) {
    if (lit instanceof SqlNumericLiteral num) {
      BigDecimal v = num.getValueAs(BigDecimal.class);
      if (num.isExact() && v.scale() <= 0) {
        try {
          return v.longValueExact();
        } catch (ArithmeticException e) {
          return null;
        }
      }
      return v.doubleValue();
    }
    if (lit instanceof SqlCharStringLiteral) {
      return lit.getValueAs(String.class);
    }
    if (lit.getTypeName() == SqlTypeName.BOOLEAN) {
      return lit.booleanValue();
    }
    return null;
  }

  private Expr expr(SqlNode n, Scope scope) {
    String agg = scope.aggregates().get(n);
    if (agg != null) {
      return new Expr.Ref(agg);
    }
    if (n instanceof SqlIdentifier i) {
      if (i.isStar()) {
        throw error(i, "unsupported construct: * inside an expression");
      }
      String f = scope.field(i);
      if (scope.schema().indexOf(f) < 0) {
        throw error(i, "unknown column: '" + lastName(i) + "' is not available here; there are " + scope.schema().names());
      }
      return new Expr.Ref(f);
    }
    if (n instanceof SqlIntervalLiteral lit) {
      Long v = lit.getValueAs(Long.class);
      if (v == null) {
        throw error(n, "unsupported construct: a year-month INTERVAL; use DAY, HOUR, MINUTE or SECOND");
      }
      return new Expr.Lit(v, FieldType.LONG);
    }
    if (n instanceof SqlTimestampLiteral ts) {
      return new Expr.Lit(ts.getValueAs(TimestampString.class).getMillisSinceEpoch(), FieldType.TIMESTAMP);
    }
    if (n instanceof SqlLiteral lit) {
      if (lit.getTypeName() == SqlTypeName.NULL) {
        return new Expr.Lit(null, FieldType.STRING);
      }
      Object v = literalValue(lit);
      if (v == null) {
        throw error(n, "unsupported construct: literal " + n);
      }
      return new Expr.Lit(v, v instanceof Long ? FieldType.LONG : v instanceof Double ? FieldType.DOUBLE : v instanceof Boolean ? FieldType.BOOLEAN : FieldType.STRING);
    }
    if (n instanceof SqlCase c) {
      List<Expr.When> whens = new ArrayList<>();
      for (int k = 0; k < c.getWhenOperands().size(); k++) {
        whens.add(new Expr.When(expr(c.getWhenOperands().get(k), scope), expr(c.getThenOperands().get(k), scope)));
      }
      SqlNode other = c.getElseOperand();
      Expr otherwise;
      if (other == null || other instanceof SqlLiteral l && l.getTypeName() == SqlTypeName.NULL) {
        FieldType t = io.ferry.query.ops.Exprs.type(whens.get(0).then(), scope.schema(), "CASE");
        otherwise = new Expr.Lit(null, t);
      } else {
        otherwise = expr(other, scope);
      }
      return new Expr.Case(whens, otherwise);
    }
    if (!(n instanceof SqlCall c)) {
      throw error(n, "unsupported construct: " + n.getKind());
    }
    if (c.getOperator().isAggregator()) {
      throw error(n, "non-windowed aggregate on an unbounded stream: " + c.getOperator().getName() + " outside a windowed GROUP BY");
    }
    List<SqlNode> ops = c.getOperandList();
    switch (c.getKind()) {
      case CAST -> {
        return new Expr.Cast(expr(ops.get(0), scope), fieldType((SqlDataTypeSpec) ops.get(1)));
      }
      case PLUS -> {
        return call(Fn.PLUS, ops, scope);
      }
      case MINUS -> {
        return call(Fn.MINUS, ops, scope);
      }
      case TIMES -> {
        return call(Fn.TIMES, ops, scope);
      }
      case DIVIDE -> {
        return call(Fn.DIVIDE, ops, scope);
      }
      case MOD -> {
        return call(Fn.MOD, ops, scope);
      }
      case MINUS_PREFIX -> {
        return call(Fn.NEGATE, ops, scope);
      }
      case PLUS_PREFIX -> {
        return expr(ops.get(0), scope);
      }
      case EQUALS -> {
        return call(Fn.EQ, ops, scope);
      }
      case NOT_EQUALS -> {
        return call(Fn.NE, ops, scope);
      }
      case LESS_THAN -> {
        return call(Fn.LT, ops, scope);
      }
      case LESS_THAN_OR_EQUAL -> {
        return call(Fn.LE, ops, scope);
      }
      case GREATER_THAN -> {
        return call(Fn.GT, ops, scope);
      }
      case GREATER_THAN_OR_EQUAL -> {
        return call(Fn.GE, ops, scope);
      }
      case AND -> {
        return call(Fn.AND, ops, scope);
      }
      case OR -> {
        return call(Fn.OR, ops, scope);
      }
      case NOT -> {
        return call(Fn.NOT, ops, scope);
      }
      case IS_NULL -> {
        return call(Fn.IS_NULL, ops, scope);
      }
      case IS_NOT_NULL -> {
        return call(Fn.IS_NOT_NULL, ops, scope);
      }
      case BETWEEN -> {
        Expr v = expr(ops.get(0), scope);
        return new Expr.Call(Fn.AND, List.of(
            new Expr.Call(Fn.GE, List.of(v, expr(ops.get(1), scope))), new Expr.Call(Fn.LE, List.of(v, expr(ops.get(2), scope)))));
      }
      case IN -> {
        if (!(ops.get(1) instanceof SqlNodeList list)) {
          throw error(n, "unsupported construct: IN with a subquery");
        }
        Expr v = expr(ops.get(0), scope);
        List<Expr> eqs = new ArrayList<>();
        for (SqlNode x : list) {
          eqs.add(new Expr.Call(Fn.EQ, List.of(v, expr(x, scope))));
        }
        return eqs.size() == 1 ? eqs.get(0) : new Expr.Call(Fn.OR, eqs);
      }
      default -> {
        String name = c.getOperator().getName().toUpperCase(Locale.ROOT);
        switch (name) {
          case "||" -> {
            return call(Fn.CONCAT, ops, scope);
          }
          case "UPPER" -> {
            return call(Fn.UPPER, ops, scope);
          }
          case "LOWER" -> {
            return call(Fn.LOWER, ops, scope);
          }
          case "ABS" -> {
            return call(Fn.ABS, ops, scope);
          }
          case "MASK" -> {
            return call(Fn.MASK, ops, scope);
          }
          default -> throw error(n, "unsupported construct: function or operator " + c.getOperator().getName());
        }
      }
    }
  }

  /** Types {@code e} now, so a mismatch is reported at the SQL that wrote it rather than at its node. */
  private static Expr checked(Expr e, SqlNode at, Schema in) {
    try {
      io.ferry.query.ops.Exprs.type(e, in, "expression");
      return e;
    } catch (QueryException x) {
      throw error(at, x.getMessage().replaceFirst("^expression: ", ""));
    }
  }

  private Expr call(Fn fn, List<SqlNode> ops, Scope scope) {
    List<Expr> args = new ArrayList<>();
    for (SqlNode o : ops) {
      args.add(expr(o, scope));
    }
    return new Expr.Call(fn, args);
  }

  private FieldType fieldType(SqlDataTypeSpec spec) {
    String t = spec.getTypeName().getSimple().toUpperCase(Locale.ROOT);
    return switch (t) {
      case "VARCHAR", "CHAR", "STRING" -> FieldType.STRING;
      case "BIGINT", "INTEGER", "INT", "SMALLINT", "TINYINT" -> FieldType.LONG;
      case "DOUBLE", "FLOAT", "REAL", "DECIMAL" -> FieldType.DOUBLE;
      case "BOOLEAN" -> FieldType.BOOLEAN;
      case "TIMESTAMP" -> FieldType.TIMESTAMP;
      default -> throw error(spec, "unsupported construct: CAST to " + t);
    };
  }

  // ---------------------------------------------------------------- helpers

  static String lastName(SqlIdentifier i) {
    return i.names.get(i.names.size() - 1);
  }

  private static SqlNode unwrapAs(SqlNode n) {
    return n != null && n.getKind() == SqlKind.AS ? ((SqlCall) n).operand(0) : n;
  }

  /** The SQL of {@code n} on one line, without the aliases the validator added. */
  private static String one(SqlNode n) {
    return n.toString().replaceAll("\\s+", " ").replaceAll("`EXPR\\$\\d+`\\.", "");
  }

  private static SqlCompileException error(SqlNode n, String problem) {
    return error(n == null ? SqlParserPos.ZERO : n.getParserPosition(), problem);
  }

  private static SqlCompileException error(SqlParserPos pos, String problem) {
    return new SqlCompileException(Math.max(1, pos.getLineNum()), Math.max(1, pos.getColumnNum()), problem);
  }
}
