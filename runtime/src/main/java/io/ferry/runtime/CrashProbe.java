package io.ferry.runtime;

import com.typesafe.config.Config;
import io.ferry.query.node.PortProbe;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.remote.RemoteActorRefProvider;
import scala.Option;
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
 * <p>The leader also sweeps the ports of the members it sees up every {@code
 * crash-probe-interval}: a killed process's port refuses at once, while the failure detector takes
 * its acceptable heartbeat pause (2 s on a LAN) to call the member unreachable. A refusal found by
 * the sweep is probed again, like an unreachable member's, before the member is downed; an answer
 * ends the suspicion.
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

  private enum Sweep implements Msg { TICK }

  private record Swept(java.util.List<Member> refusing) implements Msg {}

  /** Starts the probe on {@code system} when {@code ferry.failover.crash-probe} is on. */
  static void start(ActorSystem<?> system, Config config) {
    if (!config.getBoolean("ferry.failover.crash-probe")) {
      return;
    }
    String transport = system.settings().config().getString("pekko.remote.artery.transport");
    if (!transport.equals("tcp") && !transport.equals("tls-tcp")) {
      // Over Aeron UDP no member listens on a TCP port: every probe would be refused.
      org.slf4j.LoggerFactory.getLogger(CrashProbe.class).warn(
          "crash probe off: it dials Artery's TCP port, and this member's transport is {} (pekko.remote.artery.transport)", transport);
      return;
    }
    Duration timeout = config.getDuration("ferry.failover.crash-probe-timeout");
    Duration interval = config.getDuration("ferry.failover.crash-probe-interval");
    system.systemActorOf(create(timeout, interval), "ferry-crash-probe", Props.empty());
  }

  private static Behavior<Msg> create(Duration timeout, Duration interval) {
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
      if (!interval.isZero()) {
        timers.startTimerWithFixedDelay(Sweep.TICK, Sweep.TICK, interval);
      }
      return running(ctx, timers, cluster, prober, timeout, new HashMap<>(), new HashSet<>(), new boolean[1]);
    }));
  }

  /**
   * @param probing members being probed, with the uid of the incarnation probed: unreachable ones
   *     (from the events) and suspected ones; a new incarnation at the address is never downed for the old
   * @param suspected of those, the ones only the sweep found refusing, not (yet) unreachable
   * @param sweeping whether a sweep is still running (at most one at a time)
   */
  private static Behavior<Msg> running(ActorContext<Msg> ctx, TimerScheduler<Msg> timers, Cluster cluster, ExecutorService prober, Duration timeout,
      Map<Address, Long> probing, Set<Address> suspected, boolean[] sweeping) {
    return Behaviors.receive(Msg.class)
        .onSignal(PostStop.class, stop -> {
          prober.shutdownNow();
          return Behaviors.same();
        })
        .onMessage(Sweep.class, t -> {
          if (sweeping[0] || !isLeader(cluster)) {
            return Behaviors.same();
          }
          java.util.List<Member> up = new java.util.ArrayList<>();
          for (Member m : cluster.state().getMembers()) {
            boolean live = m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp();
            if (live && !m.address().equals(cluster.selfMember().address()) && !probing.containsKey(m.address())) {
              up.add(m);
            }
          }
          if (up.isEmpty()) {
            return Behaviors.same();
          }
          sweeping[0] = true;
          ActorRef<Msg> self = ctx.getSelf();
          CompletableFuture.supplyAsync(() -> up.stream().filter(m -> PortProbe.refuses(m.address(), timeout)).toList(), prober)
              .whenComplete((refusing, failure) -> self.tell(new Swept(refusing == null ? java.util.List.of() : refusing)));
          return Behaviors.same();
        })
        .onMessage(Swept.class, sw -> {
          sweeping[0] = false;
          for (Member m : sw.refusing()) {
            Address a = m.address();
            if (probing.putIfAbsent(a, m.uniqueAddress().longUid()) == null) {
              suspected.add(a);
              ctx.getLog().info("member {} refuses connections on its port before the failure detector has called it unreachable: probing it again", a);
              ctx.getSelf().tell(new Probe(a));
            }
          }
          return Behaviors.same();
        })
        .onMessage(Unreachable.class, u -> {
          suspected.remove(u.member().address()); // unreachable now: probed until reachable, down or removed
          if (probing.put(u.member().address(), u.member().uniqueAddress().longUid()) == null) {
            ctx.getSelf().tell(new Probe(u.member().address()));
          }
          return Behaviors.same();
        })
        .onMessage(Reachable.class, r -> {
          probing.remove(r.member().address());
          suspected.remove(r.member().address());
          timers.cancel(r.member().address());
          return Behaviors.same();
        })
        .onMessage(Probe.class, p -> {
          if (!probing.containsKey(p.address()) || !stillToDown(cluster, p.address())) {
            probing.remove(p.address());
            suspected.remove(p.address());
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
          if (!probing.containsKey(p.address())) {
            return Behaviors.same(); // reachable again meanwhile
          }
          Member now = member(cluster, p.address());
          if (now == null || now.uniqueAddress().longUid() != probing.get(p.address())) {
            probing.remove(p.address()); // removed, or another incarnation at the address now: not the one probed
            suspected.remove(p.address());
            return Behaviors.same();
          }
          if (!stillToDown(cluster, p.address())) {
            probing.remove(p.address());
            suspected.remove(p.address());
          } else if (p.refused() && isLeader(cluster)) {
            ctx.getLog().warn("member {} {} and refuses connections on its port: its process is gone; downing it", p.address(),
                suspected.contains(p.address()) ? "refused the leader's sweep" : "is unreachable");
            cluster.manager().tell(new Down(p.address()));
            quarantine(ctx.getSystem(), now);
            probing.remove(p.address());
            suspected.remove(p.address());
          } else if (suspected.remove(p.address())) {
            probing.remove(p.address()); // it answered and no event calls it unreachable: not a crash
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
    Member m = member(cluster, address);
    return m != null && m.status() != MemberStatus.down() && m.status() != MemberStatus.removed();
  }

  private static Member member(Cluster cluster, Address address) {
    for (Member m : cluster.state().getMembers()) {
      if (m.address().equals(address)) {
        return m;
      }
    }
    return null;
  }

  /**
   * Quarantines the gone process's incarnation, which the cluster records as terminated: a down
   * member is removed only once it is unreachable or terminated, and the failure detector would
   * take its acceptable heartbeat pause to say so. Quarantine is for good, like the down that
   * precedes it; a new incarnation at the same address has another uid and is not concerned.
   * {@code RemoteActorRefProvider.quarantine} is Pekko's internal API (public in the bytecode).
   */
  private static void quarantine(ActorSystem<?> system, Member member) {
    if (Adapter.toClassic(system) instanceof ExtendedActorSystem extended && extended.provider() instanceof RemoteActorRefProvider remote) {
      remote.quarantine(member.address(), Option.apply((Object) member.uniqueAddress().longUid()),
          "ferry crash probe: the member's port refuses connections, its process is gone");
    }
  }

  private static boolean isLeader(Cluster cluster) {
    Address leader = cluster.state().getLeader();
    return leader != null && leader.equals(cluster.selfMember().address());
  }
}
