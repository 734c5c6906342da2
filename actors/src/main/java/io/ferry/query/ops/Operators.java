package io.ferry.query.ops;

import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import java.util.Optional;
import java.util.ServiceLoader;

/** Turns a compiled node's spec into its running logic; called by the logic node when it starts. */
public final class Operators {
  private Operators() {}

  /** The operator of a non-source node. */
  public static Operator create(NodeSpec spec) {
    return create(spec, "");
  }

  /** The operator of a non-source node of deployment {@code deploymentId}. */
  public static Operator create(NodeSpec spec, String deploymentId) {
    OperatorSpec op = spec.op();
    if (op instanceof OperatorSpec.Filter f) {
      return new FilterOperator(f.predicate(), spec.inputSchema());
    } else if (op instanceof OperatorSpec.Project p) {
      return new ProjectOperator(p, spec.inputSchema());
    } else if (op instanceof OperatorSpec.Window w) {
      return new WindowOperator(w, spec.inputSchema());
    } else if (op instanceof OperatorSpec.HopWindow w) {
      return new WindowOperator(w, spec.inputSchema());
    } else if (op instanceof OperatorSpec.SessionWindow w) {
      return new SessionWindowOperator(w, spec.inputSchema());
    } else if (op instanceof OperatorSpec.WindowJoin j) {
      return new WindowJoinOperator(j, spec.inputSchemas());
    } else if (op instanceof OperatorSpec.Calc c) {
      return new CalcOperator(c, spec.inputSchema());
    } else if (op instanceof OperatorSpec.Union) {
      return new UnionOperator();
    } else if (op instanceof OperatorSpec.Collect) {
      return new CollectOperator();
    } else if (op instanceof OperatorSpec.WriteJsonLines w) {
      return new JsonLinesFileSink(w.path(), spec.inputSchema());
    } else if (op instanceof OperatorSpec.Keyed k) {
      return new WindowOperator(k, spec.inputSchema());
    }
    if (!op.isSource()) {
      for (ConnectorProvider p : ServiceLoader.load(ConnectorProvider.class, Operators.class.getClassLoader())) {
        Optional<Operator> o = p.operator(spec, deploymentId);
        if (o.isPresent()) {
          return o.get();
        }
      }
      throw missingConnector(spec);
    }
    throw new IllegalArgumentException(
        "node " + spec.id() + " is a " + op.getClass().getSimpleName() + ": sources have a reader, not an operator");
  }

  /** The reader of a source node. */
  public static SourceReader source(NodeSpec spec) {
    return source(spec, "");
  }

  /** The reader of a source node of deployment {@code deploymentId}. */
  public static SourceReader source(NodeSpec spec, String deploymentId) {
    OperatorSpec op = spec.op();
    if (op instanceof OperatorSpec.Generate g) {
      return new GeneratorReader(g);
    } else if (op instanceof OperatorSpec.ReadJsonLines r) {
      return new JsonLinesReader(r.path(), r.schema());
    } else if (op instanceof OperatorSpec.Ingest i) {
      return new IngestReader(i);
    }
    if (op.isSource()) {
      for (ConnectorProvider p : ServiceLoader.load(ConnectorProvider.class, Operators.class.getClassLoader())) {
        Optional<SourceReader> r = p.source(spec, deploymentId);
        if (r.isPresent()) {
          return r.get();
        }
      }
      throw missingConnector(spec);
    }
    throw new IllegalArgumentException(
        "node " + spec.id() + " is a " + op.getClass().getSimpleName() + ", not a source");
  }

  private static IllegalStateException missingConnector(NodeSpec spec) {
    return new IllegalStateException(
        "node " + spec.id() + " is a " + spec.op().getClass().getSimpleName()
            + " but no connector for it is on this member's classpath: add io.ferry:ferry-connectors");
  }
}
