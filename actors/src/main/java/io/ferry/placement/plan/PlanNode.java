package io.ferry.placement.plan;

import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import java.util.List;
import java.util.Optional;

/**
 * One logic node as the planner sees it: its rates (measured, or estimated before the first run),
 * what it costs to run and what it ships to its downstreams.
 *
 * @param inputs upstream nodes (a source has none)
 * @param inRowsPerSec rows it takes in per second (a source: rows it reads)
 * @param outRowsPerSec rows it outputs per second; {@code out/in} is its selectivity
 * @param outBytesPerRow average encoded size of one output row
 * @param cpuSecondsPerRow core-seconds it spends per input row
 * @param piiFields PII fields it receives (a source: emits); non-empty means edge sites only
 * @param fixed where it must run whatever the cost: a source where its data arrives, a sink where
 *     its readers are; empty: the planner chooses
 */
public record PlanNode(
    NodeId id,
    List<NodeId> inputs,
    double inRowsPerSec,
    double outRowsPerSec,
    double outBytesPerRow,
    double cpuSecondsPerRow,
    List<String> piiFields,
    Optional<Site> fixed) {

  public PlanNode {
    inputs = List.copyOf(inputs);
    piiFields = List.copyOf(piiFields);
    if (!(inRowsPerSec >= 0) || !(outRowsPerSec >= 0) || !(outBytesPerRow >= 0) || !(cpuSecondsPerRow >= 0)) {
      throw new IllegalArgumentException(
          "node " + id + ": rates, row size and cpu per row must be finite and >= 0, got in=" + inRowsPerSec + "/s out="
              + outRowsPerSec + "/s " + outBytesPerRow + " B/row " + cpuSecondsPerRow + " s/row");
    }
  }

  /** Cores it keeps busy wherever it runs. */
  public double cores() {
    return inRowsPerSec * cpuSecondsPerRow;
  }

  /** Bytes per second it sends to each of its downstreams. */
  public double outBytesPerSec() {
    return outRowsPerSec * outBytesPerRow;
  }

  public boolean pii() {
    return !piiFields.isEmpty();
  }

  /** The same node with new measured rates. */
  public PlanNode withRates(double in, double out, double bytesPerRow, double cpuPerRow) {
    return new PlanNode(id, inputs, in, out, bytesPerRow, cpuPerRow, piiFields, fixed);
  }
}
