package io.ferry.api;

import java.util.List;

/**
 * What the placement manager measured at its last re-plan, beyond sites and links: per logic node
 * its rates, backlog and state size; per member its CPU and journal write latency.
 */
public record Measurements(List<Node> nodes, List<Member> members) {
  public Measurements {
    nodes = List.copyOf(nodes);
    members = List.copyOf(members);
  }

  /**
   * @param inRowsPerSec null before two re-plans have seen the node where it runs now
   * @param backlogRows rows its upstreams have output beyond its input anchors
   * @param stateEntries output rows it keeps for consumers plus its operator's entries (a window's open accumulators)
   */
  public record Node(String query, String node, String site, Double inRowsPerSec, Double outRowsPerSec, double backlogRows, double stateEntries) {}

  /**
   * @param cpu 0..1 of its processors; null when the JVM does not tell
   * @param journalWriteMs mean time of its batch persists since its previous report; null when it wrote none
   */
  public record Member(String address, String site, Double cpu, Double journalWriteMs) {}
}
