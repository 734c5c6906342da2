package io.ferry.query.node;

/**
 * The names of a logic node's meters (tags {@code query}, {@code node}) and of the member's journal
 * timer: one list that the nodes register under and that the probes reading them (placement,
 * console) look up. Listed for users in docs/management-api.md.
 */
public final class NodeMetricNames {
  public static final String PULL = "ferry.node.pull";
  public static final String BATCH = "ferry.node.batch";
  public static final String ROWS_OUT = "ferry.node.output.rows";
  public static final String ROWS_IN = "ferry.node.input.rows";
  public static final String BACKLOG = "ferry.node.backlog.rows";
  public static final String STATE = "ferry.node.state.entries";
  public static final String SENT_BYTES = "ferry.node.sent.bytes";
  public static final String PULLS = "ferry.node.pulls";
  public static final String PULL_TIMEOUTS = "ferry.node.pull.timeouts";
  /** Per member, not per node: every persist of a batch, from the call to the journal's confirmation. */
  public static final String JOURNAL_WRITE = "ferry.journal.write";

  private NodeMetricNames() {}
}
