package io.ferry.api;

import io.ferry.query.QueryId;
import java.util.Map;

/** A running query: its deployment id and the member address each node runs on. */
public record Deployment(QueryId query, String deploymentId, Map<String, String> members) {}
