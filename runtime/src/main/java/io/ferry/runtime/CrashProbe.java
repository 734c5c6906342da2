package io.ferry.runtime;

import com.typesafe.config.Config;
import io.ferry.query.node.PortProbe;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Downs a crashed member before the split-brain resolver's stable-after: when a member is
 * unreachable and its Artery port refuses a TCP connection, no process holds that port any more —
 * the member's process is gone (a live member, even one cut off by a partition, cannot refuse: its
 * packets are lost, the connection times out). Only the leader probes, and downs only a member
 * that is still unreachable and not yet down. Everything else stays with the resolver: a timeout,
 * an answer (a live member, or its new incarnation already listening at the same address, which
 * Pekko replaces itself), a host that is unreachable as a whole.
 *
 * <p>Downing a dead member early does not shorten Pekko's down-removal margin: its shards and
 * singletons are still taken over only after it, so a wrong probe could cost availability, never
 * a second owner of a node while the margin covers the other side's own downing.
 */
final class CrashProbe {
  private CrashProbe() {}

  private sealed interface Msg extends NoSerializationVerificationNeeded {}

  private record Unreachable(Member member) implements Msg {}

  private record Reachable(Member member) implements Msg {}

  private record Probe(Address address) implements Msg {}

  private record Probed(Address address, boolean refused) implements Msg {}

  /** Starts the probe on {@code system} when {@code ferry.failover.crash-probe} is on. */
  static void start(ActorSystem<?> system, Config config) {
    if (!config.getBoolean("ferry.failover.crash-probe")) {
      return;
    }
    Duration timeout = config.getDuration("ferry.failover.crash-probe-timeout");
    system.systemActorOf(create(timeout), "ferry-crash-probe", Props.empty());
  }

  private static Behavior<Msg> create(Duration timeout) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.UnreachableMember.class, e -> new Unreachable(e.member())),
          ClusterEvent.UnreachableMember.class));
      cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachableMember.class, e -> new Reachable(e.member())),
          ClusterEvent.ReachableMember.class));
      // Its own thread: on a busy member the shared blocking dispatcher (journal, files) queued
      // probes for seconds, until the resolver had decided anyway.
      ExecutorService prober = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ferry-crash-probe");
        t.setDaemon(true);
        return t;
      });
      return running(ctx, timers, cluster, prober, timeout, new HashSet<>());
    }));
  }

  private static Behavior<Msg> running(ActorContext<Msg> ctx, TimerScheduler<Msg> timers, Cluster cluster, ExecutorService prober, Duration timeout,
      Set<Address> probing) {
    return Behaviors.receive(Msg.class)
        .onSignal(PostStop.class, stop -> {
          prober.shutdownNow();
          return Behaviors.same();
        })
        .onMessage(Unreachable.class, u -> {
          if (probing.add(u.member().address())) {
            ctx.getSelf().tell(new Probe(u.member().address()));
          }
          return Behaviors.same();
        })
        .onMessage(Reachable.class, r -> {
          probing.remove(r.member().address());
          timers.cancel(r.member().address());
          return Behaviors.same();
        })
        .onMessage(Probe.class, p -> {
          if (!probing.contains(p.address()) || !stillToDown(cluster, p.address())) {
            probing.remove(p.address());
            return Behaviors.same();
          }
          if (!isLeader(cluster)) {
            // The leader may die or change: look again a moment later while the member stays unreachable.
            timers.startSingleTimer(p.address(), p, timeout);
            return Behaviors.same();
          }
          ActorRef<Msg> self = ctx.getSelf();
          CompletableFuture.supplyAsync(() -> PortProbe.refuses(p.address(), timeout), prober)
              .whenComplete((refused, failure) -> self.tell(new Probed(p.address(), refused != null && refused)));
          return Behaviors.same();
        })
        .onMessage(Probed.class, p -> {
          if (!probing.contains(p.address())) {
            return Behaviors.same(); // reachable again meanwhile
          }
          if (!stillToDown(cluster, p.address())) {
            probing.remove(p.address());
          } else if (p.refused() && isLeader(cluster)) {
            ctx.getLog().warn("member {} is unreachable and refuses connections on its port: its process is gone; downing it", p.address());
            cluster.manager().tell(new Down(p.address()));
            probing.remove(p.address());
          } else {
            timers.startSingleTimer(p.address(), new Probe(p.address()), timeout);
          }
          return Behaviors.same();
        })
        .build();
  }

  /**
   * The member at {@code address} is neither down nor removed. Whether it is unreachable comes
   * from the events ({@code probing}), not from {@code cluster.state()}: the state is updated by
   * another subscriber of the same events, often after this actor has seen the event, and reading
   * the member as reachable then ended its probing for good (the resolver decided instead, 5-6 s
   * later: 2 of 5 bench-failover kills at load 5, every kill at load 50).
   */
  private static boolean stillToDown(Cluster cluster, Address address) {
    for (Member m : cluster.state().getMembers()) {
      if (m.address().equals(address)) {
        return m.status() != MemberStatus.down() && m.status() != MemberStatus.removed();
      }
    }
    return false;
  }

  private static boolean isLeader(Cluster cluster) {
    Address leader = cluster.state().getLeader();
    return leader != null && leader.equals(cluster.selfMember().address());
  }
}
