package io.ferry.testkit;

import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.Operators;
import io.ferry.query.ops.SourceReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a query in one thread with no cluster, no journal and no moves: the reference the
 * once-only checker compares a real run with. Sources must end; a sink's rows are its inputs'
 * rows in upstream order (the order a union sink sees them in may differ, hence the checker's
 * per-stream order).
 */
public final class ReferenceRun {

  private static final int BATCH_ROWS = 4096;

  private ReferenceRun() {}

  /** Every node's complete output, by node id. Sinks' outputs are what they would deliver. */
  public static Map<NodeId, List<Row>> run(QueryGraph graph, long rowsMax) {
    Map<NodeId, List<Row>> out = new HashMap<>();
    for (NodeSpec spec : graph.compile()) {
      List<Row> rows = new ArrayList<>();
      if (spec.op().isSource()) {
        try (SourceReader source = Operators.source(spec)) {
          long anchor = 0;
          while (true) {
            SourceReader.Read read = source.read(anchor, BATCH_ROWS);
            rows.addAll(read.rows());
            source.apply(read.delta());
            anchor = read.next();
            if (read.end()) {
              break;
            }
            // A JSON-lines file never says it ended (it may grow): a reference reads what it holds now.
            if (read.rows().isEmpty() && spec.op() instanceof OperatorSpec.ReadJsonLines) {
              break;
            }
            if (read.rows().isEmpty() || rows.size() > rowsMax) {
              throw new IllegalArgumentException(
                  "reference run: source " + spec.id() + " does not end within " + rowsMax + " rows; a reference needs finite sources");
            }
          }
        }
      } else {
        Operator op = spec.op().isSink() ? null : Operators.create(spec);
        for (int k = 0; k < spec.inputs().size(); k++) {
          List<Row> input = out.get(spec.inputs().get(k));
          for (int i = 0; i < input.size(); i += BATCH_ROWS) {
            List<Row> batch = input.subList(i, Math.min(input.size(), i + BATCH_ROWS));
            rows.addAll(op == null ? batch : step(op, op.process(k, batch)));
          }
          // A window join closes windows as each input ends, as a logic node does.
          if (op != null && k < spec.inputs().size() - 1) {
            rows.addAll(step(op, op.endInput(k)));
          }
        }
        if (op != null) {
          rows.addAll(step(op, op.finish()));
        }
      }
      out.put(spec.id(), rows);
    }
    return out;
  }

  private static List<Row> step(Operator op, Operator.Step step) {
    op.apply(step.delta());
    return step.outputs();
  }
}
