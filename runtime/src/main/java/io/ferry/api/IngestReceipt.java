package io.ferry.api;

import io.ferry.query.NodeId;
import io.ferry.query.QueryId;

/** Rows posted to an ingest source, persisted as its rows {@code [from, next)}. */
public record IngestReceipt(String source, QueryId query, NodeId node, long from, long next) {
  public long accepted() {
    return next - from;
  }
}
