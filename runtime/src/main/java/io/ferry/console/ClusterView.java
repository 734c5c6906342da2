package io.ferry.console;

import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.api.VolumeStatus;
import io.ferry.placement.MigrationReport;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What {@link ConsoleSnapshots} gathered from the cluster for one snapshot, before {@link
 * SnapshotAssembler} turns it into what the console draws. A part the cluster did not answer
 * for is empty and named in {@code unavailable} with why.
 *
 * @param loads member address → what it said about itself (absent when it did not answer)
 * @param statuses query id → node id → the node's status (absent when it did not answer)
 */
public record ClusterView(
    long at,
    String servedBy,
    List<ClusterMember> members,
    Map<String, MemberLoad> loads,
    Optional<List<QueryInfo>> queries,
    Map<String, Map<String, NodeStatus>> statuses,
    Optional<List<MigrationReport>> migrations,
    Optional<List<VolumeStatus>> volumes,
    Map<String, String> unavailable) {

  public ClusterView {
    members = List.copyOf(members);
    loads = Map.copyOf(loads);
    statuses = Map.copyOf(statuses);
    unavailable = Map.copyOf(unavailable);
  }

  /** A member as the cluster state lists it. */
  public record ClusterMember(String address, Set<String> roles, String status, boolean reachable) {
    public ClusterMember {
      roles = Set.copyOf(roles);
    }
  }
}
