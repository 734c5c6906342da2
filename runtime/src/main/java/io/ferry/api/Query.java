package io.ferry.api;

import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.OperatorSpec.Aggregate;
import io.ferry.query.OperatorSpec.AggregateFn;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Schema;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Java DSL for query graphs: name each node and the nodes it reads from.
 *
 * <pre>{@code
 * QueryGraph g = Query.named("readings")
 *     .generate("src", new Generate(7, 10, 100_000, 0, 10, 50, 0))
 *     .filter("big", "src", Predicate.field("value", Op.GE, 100))
 *     .window("win", "big", Query.tumbling("key", "ts", Duration.ofSeconds(1)).count("n").sum("value", "total"))
 *     .collect("out", "win")
 *     .build();
 * }</pre>
 */
public final class Query {
  private final QueryId id;
  private final List<NodeDef> nodes = new ArrayList<>();

  private Query(QueryId id) {
    this.id = id;
  }

  public static Query named(String id) {
    return new Query(new QueryId(id));
  }

  public Query generate(String node, OperatorSpec.Generate spec) {
    return add(node, spec);
  }

  public Query readJsonLines(String node, String path, Schema schema) {
    return add(node, new OperatorSpec.ReadJsonLines(path, schema));
  }

  public Query filter(String node, String input, Predicate predicate) {
    return add(node, new OperatorSpec.Filter(predicate), input);
  }

  public Query project(String node, String input, ProjectBuilder project) {
    return add(node, project.build(), input);
  }

  public Query window(String node, String input, WindowBuilder window) {
    return add(node, window.build(), input);
  }

  public Query collect(String node, String... inputs) {
    return add(node, new OperatorSpec.Collect(), inputs);
  }

  public Query writeJsonLines(String node, String path, String... inputs) {
    return add(node, new OperatorSpec.WriteJsonLines(path), inputs);
  }

  public Query add(String node, OperatorSpec op, String... inputs) {
    nodes.add(new NodeDef(new NodeId(node), op, Arrays.stream(inputs).map(NodeId::new).toList()));
    return this;
  }

  /** The graph as written; {@link QueryGraph#compile()} (or deploying it) checks it. */
  public QueryGraph build() {
    return new QueryGraph(id, nodes);
  }

  public static WindowBuilder tumbling(String keyField, String timeField, Duration size) {
    return new WindowBuilder(keyField, timeField, size);
  }

  public static ProjectBuilder project() {
    return new ProjectBuilder();
  }

  /** Builds a keyed tumbling window; call at least one aggregate. */
  public static final class WindowBuilder {
    private final String key;
    private final String time;
    private final Duration size;
    private Duration lateness = Duration.ZERO;
    private final List<Aggregate> aggregates = new ArrayList<>();

    private WindowBuilder(String key, String time, Duration size) {
      this.key = key;
      this.time = time;
      this.size = size;
    }

    /** How far behind the newest event time a row may arrive and still count. */
    public WindowBuilder allowedLateness(Duration lateness) {
      this.lateness = lateness;
      return this;
    }

    public WindowBuilder count(String as) {
      aggregates.add(new Aggregate(AggregateFn.COUNT, null, as));
      return this;
    }

    public WindowBuilder sum(String field, String as) {
      aggregates.add(new Aggregate(AggregateFn.SUM, field, as));
      return this;
    }

    public WindowBuilder min(String field, String as) {
      aggregates.add(new Aggregate(AggregateFn.MIN, field, as));
      return this;
    }

    public WindowBuilder max(String field, String as) {
      aggregates.add(new Aggregate(AggregateFn.MAX, field, as));
      return this;
    }

    public WindowBuilder avg(String field, String as) {
      aggregates.add(new Aggregate(AggregateFn.AVG, field, as));
      return this;
    }

    OperatorSpec.Window build() {
      return new OperatorSpec.Window(key, time, size.toMillis(), lateness.toMillis(), aggregates);
    }
  }

  /** Builds a projection: keep some fields (default all), drop some, mask some. */
  public static final class ProjectBuilder {
    private final List<String> keep = new ArrayList<>();
    private final List<String> drop = new ArrayList<>();
    private final List<String> mask = new ArrayList<>();

    public ProjectBuilder keep(String... fields) {
      keep.addAll(List.of(fields));
      return this;
    }

    public ProjectBuilder drop(String... fields) {
      drop.addAll(List.of(fields));
      return this;
    }

    public ProjectBuilder mask(String... fields) {
      mask.addAll(List.of(fields));
      return this;
    }

    OperatorSpec.Project build() {
      return new OperatorSpec.Project(keep, drop, mask);
    }
  }
}
