package io.ferry.api;

/**
 * One decision of the placement manager (docs/placement.md).
 *
 * @param at when, epoch milliseconds
 * @param node null when the decision is about the whole query
 * @param kind proposed, executed or skipped
 */
public record PlacementDecision(long at, String query, String node, String kind, String from, String to, String reason) {
  /** The line the demo and {@code ferry decisions} print. */
  public String line() {
    return "decision " + kind + " query=" + query + " node=" + (node == null ? "*" : node) + " " + from + " -> " + to + ": " + reason;
  }
}
