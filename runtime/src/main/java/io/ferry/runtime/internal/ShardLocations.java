package io.ferry.runtime.internal;

import io.ferry.query.node.PlacedShardAllocation;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.DistributedData;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.Replicator;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.pattern.Patterns;

/**
 * Writes logic-node shard locations for {@link PlacedShardAllocation}. Pekko's own client writes
 * locally and lets gossip spread the change over seconds; Ferry writes to every member before it
 * starts or moves a node, so the coordinator allocates the shard where the placement says on the
 * first message instead of at the requester.
 */
public final class ShardLocations {

  private final ActorRef replicator;
  private final Cluster cluster;
  private final SelfUniqueAddress self;
  private final Key<LWWMap<String, String>> key;
  private final Duration timeout;

  public ShardLocations(ActorSystem<?> system, String typeName, Duration timeout) {
    this.replicator = DistributedData.get(Adapter.toClassic(system)).replicator();
    this.cluster = Cluster.get(Adapter.toClassic(system));
    this.self = DistributedData.get(Adapter.toClassic(system)).selfUniqueAddress();
    this.key = PlacedShardAllocation.key(typeName);
    this.timeout = timeout;
  }

  /**
   * Sets shard → member address for every entry; completes once every reachable member that is
   * up (or leaving) has it, the coordinator's included; a weakly-up one gets it by gossip.
   *
   * <p>Not {@code WriteAll}: Pekko's WriteAll waits for every replica the replicator knows,
   * unreachable and downed ones included, so the write that re-places a crashed member's nodes
   * always ran into its timeout (3 s of every failover, bench-failover's "replaced" step) unless the
   * member happened to be removed already. {@code WriteTo(n)} with n the reachable replicas counts
   * the same acknowledgements a reachable member's replica gives, and none from the dead one.
   */
  public CompletionStage<Done> set(Map<String, String> locations) {
    Replicator.Update<LWWMap<String, String>> update =
        new Replicator.Update<>(
            key,
            LWWMap.create(),
            consistency(reachableReplicas(cluster.state().getMembers(), cluster.state().getUnreachable())),
            Optional.empty(),
            existing -> {
              LWWMap<String, String> m = existing;
              for (Map.Entry<String, String> e : locations.entrySet()) {
                m = m.put(self, e.getKey(), e.getValue());
              }
              return m;
            });
    return Patterns.ask(replicator, update, timeout.multipliedBy(2))
        .thenApply(
            reply -> {
              if (reply instanceof Replicator.UpdateSuccess) {
                return Done.getInstance();
              }
              // A timeout still wrote locally; gossip finishes the job. Say so but go on.
              if (reply instanceof Replicator.UpdateTimeout) {
                return Done.getInstance();
              }
              throw new IllegalStateException("shard location update failed: " + reply);
            });
  }

  private Replicator.WriteConsistency consistency(int replicas) {
    return replicas <= 1
        ? Replicator.writeLocal()
        : new Replicator.WriteTo(replicas, scala.concurrent.duration.Duration.fromNanos(timeout.toNanos()));
  }

  /**
   * How many replicas a write can be acknowledged by, this member's included: the members the
   * replicator writes to that no member finds unreachable. Pekko's replicator writes to the members
   * it saw up, until they are removed (so also leaving and exiting ones); not to joining or weakly-up
   * ones (it gossips to those later). Down ones will not answer or are about to go.
   *
   * <p>A weakly-up member counted here once made n one more than the replicator could reach: a
   * member that joins while another is unreachable and not yet downed is weakly up, and the write
   * then needed the unreachable one's acknowledgement too and waited out its whole timeout.
   */
  static int reachableReplicas(Iterable<Member> members, java.util.Set<Member> unreachable) {
    int n = 0;
    for (Member m : members) {
      MemberStatus s = m.status();
      boolean replicates = s == MemberStatus.up() || s == MemberStatus.leaving() || s == MemberStatus.exiting();
      if (replicates && !unreachable.contains(m)) {
        n++;
      }
    }
    return Math.max(n, 1);
  }
}
