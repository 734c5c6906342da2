package io.ferry.query;

import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import java.util.ArrayList;
import java.util.List;

/** One small graph per operator kind, for the schema and serialization tests. */
final class SpecSamples {
  private SpecSamples() {}

  static NodeDef node(String id, OperatorSpec op, String... inputs) {
    return new NodeDef(new NodeId(id), op, List.of(inputs).stream().map(NodeId::new).toList());
  }

  static final OperatorSpec.Generate GEN = new OperatorSpec.Generate(1, 4, 100, 0, 10, 5, 0);
  static final List<Aggregate> AGGS =
      List.of(new Aggregate(AggregateFn.COUNT, null, "n"), new Aggregate(AggregateFn.SUM, "value", "total"));

  static List<QueryGraph> all() {
    List<QueryGraph> out = new ArrayList<>();
    Schema s = Schema.of(Field.of("k", FieldType.STRING), Field.of("t", FieldType.TIMESTAMP), Field.pii("who", FieldType.STRING));
    out.add(new QueryGraph(new QueryId("files"), List.of(
        node("src", new OperatorSpec.ReadJsonLines("/tmp/in.jsonl", s)),
        node("f", new OperatorSpec.Filter(Predicate.field("k", Predicate.Op.EQ, "x").and(new Predicate.Not(Predicate.field("t", Predicate.Op.LT, 5L)).or(Predicate.field("k", Predicate.Op.NE, "y")))), "src"),
        node("p", new OperatorSpec.Project(List.of(), List.of(), List.of("who")), "f"),
        node("out", new OperatorSpec.WriteJsonLines("/tmp/out.jsonl"), "p"))));
    out.add(new QueryGraph(new QueryId("windows"), List.of(
        node("src", GEN),
        node("w", new OperatorSpec.Window("key", "ts", 100, 10, AGGS), "src"),
        node("out", new OperatorSpec.Collect(), "w"))));
    out.add(new QueryGraph(new QueryId("new-windows"), List.of(
        node("a", GEN),
        node("b", GEN),
        node("u", new OperatorSpec.Union(), "a", "b"),
        node("hop", new OperatorSpec.HopWindow("key", "ts", 100, 25, 10, AGGS), "u"),
        node("ses", new OperatorSpec.SessionWindow("key", "ts", 30, 0, AGGS), "a"),
        node("j", new OperatorSpec.WindowJoin("key", "window_start", "key", "window_start", 100, 0), "hop", "ses"),
        node("out", new OperatorSpec.Collect(), "j"))));
    out.add(new QueryGraph(new QueryId("keyed"), List.of(
        node("src", GEN),
        new NodeDef(new NodeId("w"), new OperatorSpec.Window("key", "ts", 100, 10, AGGS), List.of(new NodeId("src")), 2, 4),
        node("out", new OperatorSpec.Collect(), "w"))));
    Expr big = new Expr.Call(Expr.Fn.GE, List.of(new Expr.Ref("value"), new Expr.Lit(100L, FieldType.LONG)));
    out.add(new QueryGraph(new QueryId("calc"), List.of(
        node("src", GEN),
        node("c", new OperatorSpec.Calc(big, List.of(
            new Expr.Column("key", new Expr.Call(Expr.Fn.UPPER, List.of(new Expr.Ref("key")))),
            new Expr.Column("who", new Expr.Call(Expr.Fn.MASK, List.of(new Expr.Ref("owner")))),
            new Expr.Column("v", new Expr.Cast(new Expr.Ref("value"), FieldType.DOUBLE)),
            new Expr.Column("size", new Expr.Case(List.of(new Expr.When(big, new Expr.Lit("big", FieldType.STRING))), new Expr.Lit(null, FieldType.STRING))),
            new Expr.Column("ts", new Expr.Ref("ts")))), "src"),
        node("out", new OperatorSpec.Collect(), "c"))));
    return out;
  }
}
