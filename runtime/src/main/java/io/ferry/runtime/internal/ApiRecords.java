package io.ferry.runtime.internal;

import io.ferry.api.Deployment;
import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.api.SinkRows;
import io.ferry.api.VolumeAccepted;
import io.ferry.api.VolumeInfo;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import io.ferry.query.node.LogicNode;
import java.util.List;
import java.util.Optional;

/**
 * The one place the actors' messages become the public API's records: {@code io.ferry.api.Ferry}
 * calls these, so no {@code ActorRef} or protocol type reaches an embedder, and a change to a
 * protocol's fields is absorbed here.
 */
public final class ApiRecords {
  private ApiRecords() {}

  public static Deployment deployment(QueryRegistry.Deployed d) {
    return new Deployment(d.query(), d.deploymentId(), d.members());
  }

  /** The report is already a public record of actors' placement package; it passes as it is. */
  public static MigrationReport report(QueryRegistry.MigrationEnded ended) {
    return ended.report();
  }

  public static List<MigrationReport> reports(QueryRegistry.Migrations migrations) {
    return migrations.migrations();
  }

  public static QueryInfo query(QueryRegistry.QueryInfo q) {
    return new QueryInfo(q.query(), q.deploymentId(), q.nodes(), q.sites(), q.members());
  }

  /** {@code s} of node {@code node} of {@code query}: the entity id names both, the status keeps them typed. */
  public static NodeStatus nodeStatus(QueryId query, NodeId node, LogicNode.NodeStatus s) {
    return new NodeStatus(
        query,
        node,
        s.address(),
        s.configured(),
        s.deploymentId(),
        s.inputAnchors(),
        s.outputAnchor(),
        s.retainedRows(),
        s.done(),
        s.pausedBy().isEmpty() ? Optional.empty() : Optional.of(s.pausedBy()));
  }

  public static SinkRows sinkRows(LogicNode.SinkRows r) {
    return new SinkRows(r.from(), r.rows(), r.next(), r.done(), r.gap());
  }

  public static VolumeInfo volume(VolumeRegistry.VolumeInfo v) {
    return new VolumeInfo(v.spec(), v.backendMember(), v.frontendMember());
  }

  public static VolumeAccepted accepted(VolumeRegistry.Accepted a) {
    return new VolumeAccepted(a.volume(), a.backendMember(), a.frontendMember());
  }
}
