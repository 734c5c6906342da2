package io.ferry.placement.plan;

import io.ferry.placement.PiiRule;
import io.ferry.placement.Site;
import io.ferry.query.Field;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A query's nodes in topological order (every node after its inputs), with the rates the planner
 * reasons on. Built from a compiled query by {@link #estimate} and refreshed from measurements by
 * {@link #withMeasured}.
 */
public record PlanGraph(QueryId query, List<PlanNode> nodes) {
  /** The planner's limit on one query; 2,000 nodes plan in well under a second. */
  public static final int NODES_MAX = 5_000;

  public PlanGraph {
    nodes = List.copyOf(nodes);
    if (nodes.isEmpty() || nodes.size() > NODES_MAX) {
      throw new IllegalArgumentException("query " + query + ": a plan needs 1.." + NODES_MAX + " nodes, got " + nodes.size());
    }
    Set<NodeId> seen = new HashSet<>();
    for (PlanNode n : nodes) {
      for (NodeId in : n.inputs()) {
        if (!seen.contains(in)) {
          throw new IllegalArgumentException(
              "query " + query + ": node " + n.id() + " reads from " + in + ", which is not an earlier node (nodes must be in topological order)");
        }
      }
      if (!seen.add(n.id())) {
        throw new IllegalArgumentException("query " + query + ": node " + n.id() + " appears twice");
      }
    }
  }

  public Map<NodeId, PlanNode> byId() {
    Map<NodeId, PlanNode> m = new LinkedHashMap<>();
    nodes.forEach(n -> m.put(n.id(), n));
    return m;
  }

  /**
   * Guesses before the first run, in one place so the guesses can be read and argued with:
   * {@code defaultSourceRowsPerSec} for a source that sets no rate, a filter passes
   * {@code filterSelectivity}, a window emits one row per key per window, {@code cpuSecondsPerRow}
   * per operator kind.
   */
  public record Estimates(
      double defaultSourceRowsPerSec,
      double filterSelectivity,
      int defaultKeys,
      Map<String, Double> cpuSecondsPerRow) {
    public static Estimates defaults() {
      return new Estimates(
          1000,
          0.5,
          100,
          Map.of("source", 2e-6, "filter", 1e-6, "project", 2e-6, "window", 5e-6, "sink", 3e-6));
    }

    double cpu(String kind) {
      return cpuSecondsPerRow.getOrDefault(kind, 2e-6);
    }
  }

  /**
   * Estimated rates for {@code specs} (a compiled query, topological order). {@code sourceSites}
   * names where each source's data arrives; {@code sinkSite} where sinks' readers are.
   */
  public static PlanGraph estimate(
      QueryId query, List<NodeSpec> specs, Map<NodeId, Site> sourceSites, Optional<Site> sinkSite, Estimates e) {
    List<PlanNode> out = new ArrayList<>();
    Map<NodeId, Double> rows = new HashMap<>();
    Map<NodeId, Integer> keys = new HashMap<>();
    for (NodeSpec s : specs) {
      OperatorSpec op = s.op();
      double in = s.inputs().stream().mapToDouble(i -> rows.getOrDefault(i, 0.0)).sum();
      int k = s.inputs().stream().mapToInt(i -> keys.getOrDefault(i, e.defaultKeys())).max().orElse(e.defaultKeys());
      double outRows;
      String kind;
      Optional<Site> fixed = Optional.empty();
      if (op.isSource()) {
        kind = "source";
        in = op instanceof OperatorSpec.Generate g && g.ratePerSecond() > 0 ? g.ratePerSecond() : e.defaultSourceRowsPerSec();
        if (op instanceof OperatorSpec.Generate g) {
          k = g.keys();
        }
        outRows = in;
        fixed = Optional.ofNullable(sourceSites.get(s.id()));
      } else if (op instanceof OperatorSpec.Filter) {
        kind = "filter";
        outRows = in * e.filterSelectivity();
      } else if (op instanceof OperatorSpec.Window w) {
        kind = "window";
        outRows = Math.min(in, k / (w.sizeMs() / 1000.0));
      } else if (op.isSink()) {
        kind = "sink";
        outRows = in;
        fixed = sinkSite;
      } else {
        kind = "project";
        outRows = in;
      }
      rows.put(s.id(), outRows);
      keys.put(s.id(), k);
      out.add(new PlanNode(s.id(), s.inputs(), in, outRows, rowBytes(s.outputSchema()), e.cpu(kind), PiiRule.piiFields(s), fixed));
    }
    return new PlanGraph(query, out);
  }

  /** Encoded size of a row of {@code schema}: CBOR-ish widths plus a per-row header. */
  static double rowBytes(Schema schema) {
    if (schema == null) {
      return 0;
    }
    double b = 8;
    for (Field f : schema.fields()) {
      b += switch (f.type()) {
        case STRING -> 16;
        case BOOLEAN -> 1;
        default -> 8;
      };
    }
    return b;
  }

  /** Measured rates of one node, per second, and its measured cost per input row. */
  public record Measured(double inRowsPerSec, double outRowsPerSec, double outBytesPerRow, double cpuSecondsPerRow) {}

  /** This graph with the nodes {@code measured} names refreshed; others keep their estimates. */
  public PlanGraph withMeasured(Map<NodeId, Measured> measured) {
    return new PlanGraph(
        query,
        nodes.stream()
            .map(n -> {
              Measured m = measured.get(n.id());
              return m == null ? n : n.withRates(m.inRowsPerSec(), m.outRowsPerSec(), m.outBytesPerRow(), m.cpuSecondsPerRow());
            })
            .toList());
  }
}
