package io.ferry.testkit.engines;

import io.ferry.query.Expr;
import io.ferry.query.FieldType;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random graph specs over seeded generators: equal timestamps (step 0), late rows (disorder beyond
 * the lateness), empty inputs and sparse keys (empty windows), filters, calcs, each window kind,
 * window joins and unions. Both the jqwik properties and the distributed-engine IT draw from it.
 */
final class RandomSpecs {
  private RandomSpecs() {}

  enum Shape {
    PIPELINE,
    JOIN,
    UNION
  }

  /** What the model needs to know beyond the graph: which sink compares as a multiset. */
  record Spec(QueryGraph graph, Shape shape) {}

  static final List<Aggregate> AGGS =
      List.of(
          new Aggregate(AggregateFn.COUNT, null, "n"),
          new Aggregate(AggregateFn.SUM, "value", "total"),
          new Aggregate(AggregateFn.MIN, "value", "low"),
          new Aggregate(AggregateFn.MAX, "value", "high"),
          new Aggregate(AggregateFn.AVG, "value", "mean"));

  static Spec draw(Random r, int rowsMax) {
    return draw(r, rowsMax, Shape.values()[r.nextInt(Shape.values().length)]);
  }

  static Spec draw(Random r, int rowsMax, Shape shape) {
    List<NodeDef> nodes = new ArrayList<>();
    switch (shape) {
      case PIPELINE -> {
        String last = pipeline(r, nodes, "a", rowsMax);
        last = window(r, nodes, last);
        nodes.add(node("out", new OperatorSpec.Collect(), last));
      }
      case JOIN -> {
        String a = pipeline(r, nodes, "a", rowsMax);
        String b = pipeline(r, nodes, "b", rowsMax);
        long size = 10 + r.nextInt(100);
        nodes.add(node("join", new OperatorSpec.WindowJoin("key", "ts", "key", "ts", size, r.nextInt(60)), a, b));
        nodes.add(node("out", new OperatorSpec.Collect(), "join"));
      }
      case UNION -> {
        String a = pipeline(r, nodes, "a", rowsMax);
        String b = pipeline(r, nodes, "b", rowsMax);
        nodes.add(node("u", new OperatorSpec.Union(), a, b));
        nodes.add(node("out", new OperatorSpec.Collect(), "u"));
      }
    }
    return new Spec(new QueryGraph(new QueryId("prop"), nodes), shape);
  }

  /** A generator, maybe a filter on value, maybe a calc that keeps even values and doubles them. */
  private static String pipeline(Random r, List<NodeDef> nodes, String name, int rowsMax) {
    int count = r.nextInt(8) == 0 ? 0 : r.nextInt(rowsMax + 1);
    long step = r.nextInt(3) == 0 ? 0 : r.nextInt(6);
    nodes.add(node("src-" + name, new OperatorSpec.Generate(r.nextLong(), 1 + r.nextInt(5), count, r.nextInt(1000), step, r.nextInt(4) == 0 ? 0 : r.nextInt(80), 0)));
    String last = "src-" + name;
    if (r.nextBoolean()) {
      nodes.add(node("filter-" + name, new OperatorSpec.Filter(Predicate.field("value", Predicate.Op.GE, (long) r.nextInt(600))), last));
      last = "filter-" + name;
    }
    if (r.nextInt(3) == 0) {
      Expr v = new Expr.Ref("value");
      Expr even = new Expr.Call(Expr.Fn.EQ, List.of(new Expr.Call(Expr.Fn.MOD, List.of(v, new Expr.Lit(2L, FieldType.LONG))), new Expr.Lit(0L, FieldType.LONG)));
      nodes.add(node("calc-" + name, new OperatorSpec.Calc(even, List.of(
          new Expr.Column("key", new Expr.Ref("key")),
          new Expr.Column("value", new Expr.Call(Expr.Fn.TIMES, List.of(v, new Expr.Lit(2L, FieldType.LONG)))),
          new Expr.Column("ts", new Expr.Ref("ts")),
          new Expr.Column("owner", new Expr.Ref("owner")))), last));
      last = "calc-" + name;
    }
    return last;
  }

  private static String window(Random r, List<NodeDef> nodes, String in) {
    long lateness = r.nextInt(60);
    OperatorSpec op =
        switch (r.nextInt(4)) {
          case 0 -> null;
          case 1 -> new OperatorSpec.Window("key", "ts", 5 + r.nextInt(100), lateness, AGGS);
          case 2 -> {
            long slide = 5 + r.nextInt(40);
            yield new OperatorSpec.HopWindow("key", "ts", slide * (1 + r.nextInt(4)), slide, lateness, AGGS);
          }
          default -> new OperatorSpec.SessionWindow("key", "ts", 1 + r.nextInt(30), lateness, AGGS);
        };
    if (op == null) {
      return in;
    }
    nodes.add(node("win", op, in));
    return "win";
  }

  static NodeDef node(String id, OperatorSpec op, String... inputs) {
    return new NodeDef(new NodeId(id), op, List.of(inputs).stream().map(NodeId::new).toList());
  }
}
