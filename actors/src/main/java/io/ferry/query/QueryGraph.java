package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A query as a graph of operator nodes, built with {@code io.ferry.api.Query} or by hand. {@link
 * #compile()} checks it (cycles, missing upstreams, unknown fields, type mismatches) and derives
 * each node's schemas; a graph that does not compile starts nothing.
 *
 * <p>Its JSON form is the versioned graph spec of {@code docs/graph-spec.schema.json}: the JSON
 * form, the Java DSL and the SQL compiler all produce it, and either engine runs it.
 */
public record QueryGraph(QueryId id, List<NodeDef> nodes) {
  /** The graph spec format this build reads and writes; bump it when a change is not additive. */
  public static final int SPEC_VERSION = 1;

  public QueryGraph {
    nodes = List.copyOf(nodes);
  }

  /** The JSON form: {@code version} may be left out (it means the current one), any other is refused. */
  @JsonCreator
  static QueryGraph fromJson(
      @JsonProperty("version") Integer version, @JsonProperty("id") QueryId id, @JsonProperty("nodes") List<NodeDef> nodes) {
    if (version != null && version != SPEC_VERSION) {
      throw new QueryException(
          "graph spec version " + version + " is not supported: this build reads version " + SPEC_VERSION);
    }
    if (id == null || nodes == null) {
      throw new QueryException("a graph spec needs 'id' and 'nodes'");
    }
    return new QueryGraph(id, nodes);
  }

  /** Written into the JSON form so a reader can tell which format it holds. */
  @JsonProperty("version")
  public int version() {
    return SPEC_VERSION;
  }

  /** Checks the graph and returns its nodes in topological order (sources first). */
  public List<NodeSpec> compile() {
    if (nodes.stream().anyMatch(NodeDef::keyed)) {
      return new QueryGraph(id, expandKeyed()).compile();
    }
    if (nodes.isEmpty()) {
      throw new QueryException("query " + id + " has no nodes");
    }
    Map<NodeId, NodeDef> byId = new LinkedHashMap<>();
    for (NodeDef n : nodes) {
      if (byId.put(n.id(), n) != null) {
        throw new QueryException("query " + id + ": node id '" + n.id() + "' is used twice");
      }
    }
    Map<NodeId, List<NodeId>> outputs = new HashMap<>();
    for (NodeDef n : nodes) {
      outputs.putIfAbsent(n.id(), new ArrayList<>());
      checkArity(n);
      Set<NodeId> seen = new HashSet<>();
      for (NodeId in : n.inputs()) {
        if (!byId.containsKey(in)) {
          throw new QueryException(
              "query " + id + ": node '" + n.id() + "' reads from '" + in + "', which is not a node of the query");
        }
        if (!seen.add(in)) {
          throw new QueryException("query " + id + ": node '" + n.id() + "' reads from '" + in + "' twice");
        }
        outputs.computeIfAbsent(in, k -> new ArrayList<>()).add(n.id());
      }
    }
    List<NodeId> order = topologicalOrder(byId, outputs);
    Map<NodeId, Schema> out = new HashMap<>();
    List<NodeSpec> specs = new ArrayList<>();
    for (NodeId nid : order) {
      NodeDef n = byId.get(nid);
      if (!n.op().isSink() && outputs.get(nid).isEmpty()) {
        throw new QueryException(
            "query " + id + ": node '" + nid + "' has no downstream node: its output would go nowhere");
      }
      if (n.op() instanceof OperatorSpec.WindowJoin j) {
        Schema left = out.get(n.inputs().get(0));
        Schema right = out.get(n.inputs().get(1));
        Schema o = joinSchema(j, left, right, "query " + id + ": node '" + nid + "'");
        out.put(nid, o);
        specs.add(new NodeSpec(id, nid, n.op(), n.inputs(), outputs.get(nid), left, o, List.of(left, right)));
        continue;
      }
      Schema in = inputSchema(n, out);
      Schema o = outputSchema(n.op(), in, "query " + id + ": node '" + n.id() + "'");
      out.put(nid, o);
      specs.add(new NodeSpec(id, nid, n.op(), n.inputs(), outputs.get(nid), in, o));
    }
    return specs;
  }

  /**
   * The graph with each keyed node replaced by its instances ({@link KeyGroups#instanceIds}): each
   * reads the keyed node's upstream and owns its key groups at the declared parallelism (the rest
   * idle, for a later rescale), and the keyed node's readers (sinks and unions) read them all.
   */
  private List<NodeDef> expandKeyed() {
    Map<NodeId, List<NodeId>> instancesOf = new HashMap<>();
    List<NodeDef> out = new ArrayList<>();
    for (NodeDef n : nodes) {
      if (!n.keyed()) {
        continue;
      }
      String where = "query " + id + ": keyed node '" + n.id() + "'";
      if (!(n.op() instanceof OperatorSpec.Window) && !(n.op() instanceof OperatorSpec.HopWindow)) {
        throw new QueryException(where + " must be a window or hop-window to run with parallelism, got "
            + n.op().getClass().getSimpleName());
      }
      if (n.inputs().size() != 1) {
        throw new QueryException(where + " takes exactly one upstream, got " + n.inputs());
      }
      instancesOf.put(n.id(), KeyGroups.instanceIds(n.id(), n.instances()));
    }
    for (NodeDef n : nodes) {
      if (n.keyed()) {
        for (int i = 0; i < n.instances(); i++) {
          KeyGroups.Range r = KeyGroups.range(i, n.parallelism());
          out.add(new NodeDef(KeyGroups.instanceId(n.id(), i), new OperatorSpec.Keyed(n.op(), r.first(), r.end()), n.inputs()));
        }
        continue;
      }
      List<NodeId> inputs = new ArrayList<>();
      for (NodeId in : n.inputs()) {
        List<NodeId> inst = instancesOf.get(in);
        if (inst == null) {
          inputs.add(in);
        } else if (n.op().isSink() || n.op() instanceof OperatorSpec.Union) {
          inputs.addAll(inst);
        } else {
          throw new QueryException("query " + id + ": node '" + n.id() + "' reads keyed node '" + in
              + "', which runs as " + inst.size() + " instances: only a sink or a union may read it");
        }
      }
      out.add(new NodeDef(n.id(), n.op(), inputs));
    }
    return out;
  }

  private void checkArity(NodeDef n) {
    String where = "query " + id + ": node '" + n.id() + "'";
    if (n.op().isSource() && !n.inputs().isEmpty()) {
      throw new QueryException(where + " is a source and cannot read from " + n.inputs());
    }
    if (!n.op().isSource() && n.inputs().isEmpty()) {
      throw new QueryException(where + " has no upstream: only sources may have none");
    }
    if (n.op() instanceof OperatorSpec.WindowJoin) {
      if (n.inputs().size() != 2) {
        throw new QueryException(where + " is a window join: it takes exactly two upstreams (left, right), got " + n.inputs());
      }
    } else if (n.op() instanceof OperatorSpec.Union) {
      if (n.inputs().size() < 2) {
        throw new QueryException(where + " is a union: it takes two or more upstreams, got " + n.inputs());
      }
    } else if (!n.op().isSource() && !n.op().isSink() && n.inputs().size() != 1) {
      throw new QueryException(where + " takes exactly one upstream, got " + n.inputs());
    }
  }

  private List<NodeId> topologicalOrder(Map<NodeId, NodeDef> byId, Map<NodeId, List<NodeId>> outputs) {
    Map<NodeId, Integer> indegree = new HashMap<>();
    byId.values().forEach(n -> indegree.put(n.id(), n.inputs().size()));
    Deque<NodeId> ready = new ArrayDeque<>();
    byId.keySet().stream().filter(n -> indegree.get(n) == 0).forEach(ready::add);
    List<NodeId> order = new ArrayList<>();
    while (!ready.isEmpty()) {
      NodeId n = ready.poll();
      order.add(n);
      for (NodeId d : outputs.get(n)) {
        if (indegree.merge(d, -1, Integer::sum) == 0) {
          ready.add(d);
        }
      }
    }
    if (order.size() != byId.size()) {
      List<NodeId> inCycle = new ArrayList<>(byId.keySet());
      inCycle.removeAll(order);
      throw new QueryException("query " + id + " has a cycle through nodes " + inCycle);
    }
    return order;
  }

  private Schema inputSchema(NodeDef n, Map<NodeId, Schema> out) {
    if (n.inputs().isEmpty()) {
      return null;
    }
    Schema first = out.get(n.inputs().get(0));
    for (NodeId in : n.inputs()) {
      Schema s = out.get(in);
      if (!s.equals(first)) {
        throw new QueryException(
            "query " + id + ": node '" + n.id() + "' unions inputs with different schemas: '"
                + n.inputs().get(0) + "' emits " + first + " but '" + in + "' emits " + s);
      }
    }
    return first;
  }

  /**
   * The schema a node of {@code op} emits when it reads {@code in} (null for a source), checked; a
   * window join's comes from {@link #joinSchema}. The SQL compiler derives schemas with it as it
   * builds a graph, so both agree by construction.
   */
  public static Schema outputSchema(OperatorSpec op, Schema in, String where) {
    if (op instanceof OperatorSpec.Keyed k) {
      return outputSchema(k.of(), in, where);
    }
    if (op instanceof OperatorSpec.Generate) {
      return OperatorSpec.Generate.SCHEMA;
    } else if (op instanceof OperatorSpec.ReadJsonLines r) {
      if (r.schema() == null || r.schema().size() == 0) {
        throw new QueryException(where + " reads JSON lines but declares no fields");
      }
      return r.schema();
    } else if (op instanceof OperatorSpec.ReadKafka r) {
      if (r.schema() == null || r.schema().size() == 0) {
        throw new QueryException(where + " reads Kafka topic " + r.topic() + " but declares no fields");
      }
      return r.schema();
    } else if (op instanceof OperatorSpec.Ingest r) {
      if (r.schema() == null || r.schema().size() == 0) {
        throw new QueryException(where + " ingests source " + r.source() + " but declares no fields");
      }
      return r.schema();
    } else if (op instanceof OperatorSpec.ReadMqtt r) {
      if (r.schema() == null || r.schema().size() == 0) {
        throw new QueryException(where + " reads MQTT topic " + r.topic() + " but declares no fields");
      }
      return r.schema();
    } else if (op instanceof OperatorSpec.WriteKafka w && w.keyField() != null && !w.keyField().isEmpty()
        && in.fields().stream().noneMatch(f -> f.name().equals(w.keyField()))) {
      throw new QueryException(where + " keys Kafka records by '" + w.keyField() + "' but its input has " + in);
    } else if (op instanceof OperatorSpec.Filter f) {
      checkPredicate(f.predicate(), in, where);
      return in;
    } else if (op instanceof OperatorSpec.Project p) {
      return projectSchema(p, in, where);
    } else if (op instanceof OperatorSpec.Calc c) {
      return calcSchema(c, in, where);
    } else if (op instanceof OperatorSpec.Window w) {
      return windowSchema(w.keyField(), w.timeField(), w.aggregates(), in, where);
    } else if (op instanceof OperatorSpec.HopWindow w) {
      return windowSchema(w.keyField(), w.timeField(), w.aggregates(), in, where);
    } else if (op instanceof OperatorSpec.SessionWindow w) {
      return windowSchema(w.keyField(), w.timeField(), w.aggregates(), in, where);
    } else if (op instanceof OperatorSpec.WriteJsonLines w && (w.path() == null || w.path().isBlank())) {
      throw new QueryException(where + " writes JSON lines but has no path");
    }
    return in;
  }

  private static List<Predicate> requireList(List<Predicate> list, String what, String where) {
    if (list == null) {
      throw new QueryException(where + ": '" + what + "' has no list of conditions");
    }
    return list;
  }

  /** Checks fields and literal types of a filter condition against its input. */
  public static void checkPredicate(Predicate p, Schema in, String where) {
    if (p == null) {
      throw new QueryException(where + ": a condition is missing (null where a comparison, and, or or not belongs)");
    }
    if (p instanceof Predicate.Compare c) {
      Field f = in.require(c.field(), where);
      if (c.op() == null) {
        throw new QueryException(where + ": the comparison on '" + c.field() + "' has no operator (one of " + java.util.Arrays.toString(Predicate.Op.values()) + ")");
      }
      Object lit = c.literal();
      boolean ok =
          switch (f.type()) {
            case STRING -> lit instanceof String;
            case LONG, TIMESTAMP -> lit instanceof Long;
            case DOUBLE -> lit instanceof Double || lit instanceof Long;
            case BOOLEAN -> lit instanceof Boolean && (c.op() == Predicate.Op.EQ || c.op() == Predicate.Op.NE);
          };
      if (!ok) {
        throw new QueryException(
            where + ": type mismatch in " + c.field() + " " + c.op().symbol + " " + describe(lit)
                + ": field '" + c.field() + "' is " + f.type());
      }
    } else if (p instanceof Predicate.And a) {
      requireList(a.all(), "and", where).forEach(x -> checkPredicate(x, in, where));
    } else if (p instanceof Predicate.Or o) {
      requireList(o.any(), "or", where).forEach(x -> checkPredicate(x, in, where));
    } else if (p instanceof Predicate.Not n) {
      checkPredicate(n.predicate(), in, where);
    }
  }

  private static String describe(Object lit) {
    if (lit == null) {
      return "NULL";
    }
    return (lit instanceof String s ? "'" + s + "'" : String.valueOf(lit)) + " (" + lit.getClass().getSimpleName() + ")";
  }

  private static Schema calcSchema(OperatorSpec.Calc c, Schema in, String where) {
    if (c.where() != null) {
      FieldType t = io.ferry.query.ops.Exprs.type(c.where(), in, where);
      if (t != FieldType.BOOLEAN) {
        throw new QueryException(where + ": type mismatch: the condition must be BOOLEAN, not " + t);
      }
    }
    List<Field> fields = new ArrayList<>();
    for (Expr.Column col : c.columns()) {
      fields.add(new Field(col.name(), io.ferry.query.ops.Exprs.type(col.expr(), in, where), io.ferry.query.ops.Exprs.pii(col.expr(), in)));
    }
    return new Schema(fields);
  }

  private static Schema projectSchema(OperatorSpec.Project p, Schema in, String where) {
    p.keep().forEach(f -> in.require(f, where));
    p.drop().forEach(f -> in.require(f, where));
    for (String m : p.mask()) {
      Field f = in.require(m, where);
      if (f.type() != FieldType.STRING) {
        throw new QueryException(where + ": type mismatch: can only mask STRING fields, '" + m + "' is " + f.type());
      }
      if (p.drop().contains(m) || (!p.keep().isEmpty() && !p.keep().contains(m))) {
        throw new QueryException(where + ": field '" + m + "' is both masked and dropped");
      }
    }
    List<Field> fields = new ArrayList<>();
    for (Field f : in.fields()) {
      boolean kept = (p.keep().isEmpty() || p.keep().contains(f.name())) && !p.drop().contains(f.name());
      if (kept) {
        fields.add(p.mask().contains(f.name()) ? Field.of(f.name(), f.type()) : f);
      }
    }
    if (fields.isEmpty()) {
      throw new QueryException(where + " drops every field");
    }
    return new Schema(fields);
  }

  /**
   * The window join's output: window bounds, left fields, right fields (renamed on a clash), the
   * inputs' own window bounds left out. Keys must have the same type, times must be times.
   */
  public static Schema joinSchema(OperatorSpec.WindowJoin j, Schema left, Schema right, String where) {
    Field lk = left.require(j.leftKey(), where + " (left)");
    Field rk = right.require(j.rightKey(), where + " (right)");
    if (lk.type() != rk.type() || lk.type() == FieldType.DOUBLE) {
      throw new QueryException(
          where + ": type mismatch: join keys '" + lk.name() + "' (" + lk.type() + ") and '" + rk.name() + "' (" + rk.type()
              + ") must have one type, not DOUBLE");
    }
    for (Field t : List.of(left.require(j.leftTime(), where + " (left)"), right.require(j.rightTime(), where + " (right)"))) {
      if (t.type() != FieldType.TIMESTAMP && t.type() != FieldType.LONG) {
        throw new QueryException(
            where + ": type mismatch: the event time field '" + t.name() + "' must be TIMESTAMP or LONG, not " + t.type());
      }
    }
    List<Field> fields = new ArrayList<>();
    fields.add(Field.of("window_start", FieldType.TIMESTAMP));
    fields.add(Field.of("window_end", FieldType.TIMESTAMP));
    Set<String> used = new HashSet<>(List.of("window_start", "window_end"));
    for (Field f : left.fields()) {
      if (!isWindowBound(f)) {
        fields.add(f);
        used.add(f.name());
      }
    }
    for (Field f : right.fields()) {
      if (!isWindowBound(f)) {
        String name = used.contains(f.name()) ? "right_" + f.name() : f.name();
        if (!used.add(name)) {
          throw new QueryException(where + ": the join output would have field '" + name + "' twice; rename it in an input");
        }
        fields.add(new Field(name, f.type(), f.pii()));
      }
    }
    return new Schema(fields);
  }

  /** Inputs' own window bounds, which a window join replaces with its own. */
  public static boolean isWindowBound(Field f) {
    return f.name().equals("window_start") || f.name().equals("window_end");
  }

  private static Schema windowSchema(String keyField, String timeField, List<Aggregate> aggregates, Schema in, String where) {
    Field key = in.require(keyField, where);
    if (key.type() == FieldType.DOUBLE) {
      throw new QueryException(where + ": type mismatch: the window key '" + key.name() + "' cannot be DOUBLE");
    }
    Field time = in.require(timeField, where);
    if (time.type() != FieldType.TIMESTAMP && time.type() != FieldType.LONG) {
      throw new QueryException(
          where + ": type mismatch: the event time field '" + time.name() + "' must be TIMESTAMP or LONG, not " + time.type());
    }
    List<Field> fields = new ArrayList<>();
    fields.add(new Field("key", key.type(), key.pii()));
    fields.add(Field.of("window_start", FieldType.TIMESTAMP));
    fields.add(Field.of("window_end", FieldType.TIMESTAMP));
    for (Aggregate a : aggregates) {
      if (a.fn() == AggregateFn.COUNT) {
        fields.add(Field.of(a.as(), FieldType.LONG));
        continue;
      }
      Field f = in.require(a.field(), where);
      if (!f.type().numeric()) {
        throw new QueryException(
            where + ": type mismatch: " + a.fn() + "(" + f.name() + ") needs a numeric field, '" + f.name() + "' is " + f.type());
      }
      FieldType t =
          switch (a.fn()) {
            case AVG -> FieldType.DOUBLE;
            case SUM -> f.type() == FieldType.DOUBLE ? FieldType.DOUBLE : FieldType.LONG;
            default -> f.type() == FieldType.TIMESTAMP ? FieldType.LONG : f.type();
          };
      fields.add(new Field(a.as(), t, f.pii()));
    }
    return new Schema(fields);
  }
}
