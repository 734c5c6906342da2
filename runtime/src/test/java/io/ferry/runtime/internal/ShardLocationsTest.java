package io.ferry.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A location write waits for the replicas that can answer, not for a crashed member's: with
 * WriteAll it waited out its whole timeout (3 s) in most failovers.
 */
class ShardLocationsTest {

  private static Member member(int port, long uid, MemberStatus status) {
    return new Member(
        new UniqueAddress(new Address("pekko", "ferry", "127.0.0.1", port), uid),
        1,
        status,
        CollectionConverters.asScala(Set.of("dc-default")).toSet(),
        Version.Zero());
  }

  @Test
  void anUnreachableOrDownMemberIsNotWaitedFor() {
    Member cloud = member(1, 1, MemberStatus.up());
    Member edgeA = member(2, 2, MemberStatus.up());
    Member crashed = member(3, 3, MemberStatus.up());
    Member downed = member(4, 4, MemberStatus.down());
    assertEquals(2, ShardLocations.reachableReplicas(List.of(cloud, edgeA, crashed, downed), Set.of(crashed, downed)));
  }

  @Test
  void membersTheReplicatorDoesNotWriteToAreNotCounted() {
    Member self = member(1, 1, MemberStatus.up());
    Member joining = member(2, 2, MemberStatus.joining());
    Member leaving = member(3, 3, MemberStatus.leaving());
    Member weaklyUp = member(4, 4, MemberStatus.weaklyUp());
    Member exiting = member(5, 5, MemberStatus.exiting());
    assertEquals(3, ShardLocations.reachableReplicas(List.of(self, joining, leaving, weaklyUp, exiting), Set.of()));
  }

  /**
   * A member joins while a crashed one is unreachable and not yet downed (no crash probe on a WAN):
   * it is weakly up, and the replicator does not write to it but still counts the crashed one. Had
   * the weakly-up member been counted, the write would have needed the crashed member's
   * acknowledgement (n - 1 = 2 of its 2 other replicas) and waited out its timeout.
   */
  @Test
  void aMemberJoiningDuringACrashIsNotWaitedForEither() {
    Member self = member(1, 1, MemberStatus.up());
    Member edgeA = member(2, 2, MemberStatus.up());
    Member crashed = member(3, 3, MemberStatus.up());
    Member replacement = member(4, 4, MemberStatus.weaklyUp());
    assertEquals(2, ShardLocations.reachableReplicas(List.of(self, edgeA, crashed, replacement), Set.of(crashed)));
  }

  @Test
  void atLeastTheLocalReplica() {
    assertEquals(1, ShardLocations.reachableReplicas(List.of(), Set.of()));
  }
}
