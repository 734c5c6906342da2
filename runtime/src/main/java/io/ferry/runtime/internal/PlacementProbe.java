package io.ferry.runtime.internal;

import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MemberRoles;
import io.ferry.query.node.NodeMetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Runs on every member and measures what only this member can for the placement manager: its
 * cores and CPU use, its journal's write latency, the running totals of its logic nodes' meters
 * (rows, bytes sent per consumer, pulls and pull timeouts per upstream, backlog, state size), and
 * the round-trip time to a member of every other site (it pings their probes every {@code interval}).
 */
public final class PlacementProbe {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "ferry-placement-probe");
  /** Bounds a report however many nodes a member hosts. */
  static final int NODES_MAX = 5_000;

  public sealed interface Command extends CborSerializable {}

  public record GetReport(ActorRef<Report> replyTo) implements Command {}

  public record Ping(long sentNanos, ActorRef<Command> replyTo) implements Command {}

  public record Pong(long sentNanos, String site) implements Command {}

  private record Listed(Set<ActorRef<Command>> probes) implements Command {}

  private enum ProbeTick implements Command {
    INSTANCE
  }

  /**
   * What one member measured.
   *
   * @param cpu the process's recent CPU use, 0..1 of its processors; negative when the JVM does not tell
   * @param rttMillis the last round-trip time to each other site's probes
   * @param journalWriteMs the mean time of this member's batch persists since its previous report; negative when there were none
   */
  public record Report(String address, String site, String tier, int processors, double cpu, List<NodeTotal> nodes, Map<String, Double> rttMillis,
      double journalWriteMs) implements CborSerializable {}

  /**
   * A node's totals while it ran on this member (the meters restart when it moves): rows in and
   * out, estimated bytes sent to each consumer, pulls sent and timed out per upstream; and its
   * backlog (rows its upstreams on this member have beyond its input anchor: summed over members)
   * and state entries now.
   */
  public record NodeTotal(String query, String node, double rowsIn, double rowsOut, Map<String, Double> sentBytes, Map<String, Double> pulls,
      Map<String, Double> pullTimeouts, double backlogRows, double stateEntries) implements CborSerializable {
    NodeTotal(String query, String node) {
      this(query, node, 0, 0, new TreeMap<>(), new TreeMap<>(), new TreeMap<>(), 0, 0);
    }
  }

  private PlacementProbe() {}

  public static Behavior<Command> create(Duration interval) {
    return Behaviors.setup(
        ctx -> {
          ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
          ActorRef<Receptionist.Listing> listing =
              ctx.messageAdapter(Receptionist.Listing.class, l -> new Listed(l.getServiceInstances(KEY)));
          ctx.getSystem().receptionist().tell(Receptionist.subscribe(KEY, listing));
          Cluster cluster = Cluster.get(ctx.getSystem());
          String address = cluster.selfMember().address().toString();
          String site = MemberRoles.site(cluster.selfMember().getRoles()).map(s -> s.name()).orElse("");
          String tier = MemberRoles.tier(cluster.selfMember().getRoles()).map(t -> t.name().toLowerCase(java.util.Locale.ROOT)).orElse("");
          MeterRegistry registry = FerryMetrics.get(ctx.getSystem()).registry();
          Map<String, Double> rtt = new TreeMap<>();
          List<ActorRef<Command>> others = new ArrayList<>();
          double[] journalBefore = new double[2];
          return Behaviors.withTimers(
              timers -> {
                timers.startTimerWithFixedDelay(ProbeTick.INSTANCE, interval);
                return Behaviors.receive(Command.class)
                    .onMessage(Listed.class, l -> {
                      others.clear();
                      l.probes().stream().filter(p -> !p.equals(ctx.getSelf())).forEach(others::add);
                      return Behaviors.same();
                    })
                    .onMessageEquals(ProbeTick.INSTANCE, () -> {
                      long now = System.nanoTime();
                      others.forEach(p -> p.tell(new Ping(now, ctx.getSelf())));
                      return Behaviors.same();
                    })
                    .onMessage(Ping.class, p -> {
                      p.replyTo().tell(new Pong(p.sentNanos(), site));
                      return Behaviors.same();
                    })
                    .onMessage(Pong.class, p -> {
                      if (!p.site().equals(site) && !p.site().isEmpty()) {
                        rtt.put(p.site(), (System.nanoTime() - p.sentNanos()) / 1e6);
                      }
                      return Behaviors.same();
                    })
                    .onMessage(GetReport.class, g -> {
                      g.replyTo().tell(new Report(address, site, tier, Runtime.getRuntime().availableProcessors(), cpu(), totals(registry), Map.copyOf(rtt),
                          journalWriteMs(registry, journalBefore)));
                      return Behaviors.same();
                    })
                    .build();
              });
        });
  }

  private static double cpu() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuLoad();
    }
    return -1;
  }

  /** The mean write time since the previous call ({@code before}: count and total ms then, updated); negative when none. */
  static double journalWriteMs(MeterRegistry registry, double[] before) {
    Timer t = registry.find(NodeMetricNames.JOURNAL_WRITE).timer();
    if (t == null) {
      return -1;
    }
    double count = t.count();
    double total = t.totalTime(TimeUnit.MILLISECONDS);
    double n = count - before[0];
    double ms = n > 0 ? (total - before[1]) / n : -1;
    before[0] = count;
    before[1] = total;
    return ms;
  }

  static List<NodeTotal> totals(MeterRegistry registry) {
    Map<String, NodeTotal> byNode = new TreeMap<>();
    for (Counter c : registry.find(NodeMetricNames.ROWS_IN).counters()) {
      NodeTotal t = node(byNode, c);
      if (t != null) {
        byNode.put(key(c), new NodeTotal(t.query(), t.node(), t.rowsIn() + c.count(), t.rowsOut(), t.sentBytes(), t.pulls(), t.pullTimeouts(),
            t.backlogRows(), t.stateEntries()));
      }
    }
    for (Counter c : registry.find(NodeMetricNames.ROWS_OUT).counters()) {
      NodeTotal t = node(byNode, c);
      if (t != null) {
        byNode.put(key(c), new NodeTotal(t.query(), t.node(), t.rowsIn(), t.rowsOut() + c.count(), t.sentBytes(), t.pulls(), t.pullTimeouts(),
            t.backlogRows(), t.stateEntries()));
      }
    }
    for (Counter c : registry.find(NodeMetricNames.SENT_BYTES).counters()) {
      NodeTotal t = node(byNode, c);
      if (t != null) {
        t.sentBytes().merge(c.getId().getTag("consumer"), c.count(), Double::sum);
      }
    }
    for (Counter c : registry.find(NodeMetricNames.PULLS).counters()) {
      NodeTotal t = node(byNode, c);
      if (t != null) {
        t.pulls().merge(c.getId().getTag("upstream"), c.count(), Double::sum);
      }
    }
    for (Counter c : registry.find(NodeMetricNames.PULL_TIMEOUTS).counters()) {
      NodeTotal t = node(byNode, c);
      if (t != null) {
        t.pullTimeouts().merge(c.getId().getTag("upstream"), c.count(), Double::sum);
      }
    }
    for (Gauge g : registry.find(NodeMetricNames.BACKLOG).gauges()) {
      NodeTotal t = node(byNode, g);
      if (t != null) {
        byNode.put(key(g), new NodeTotal(t.query(), t.node(), t.rowsIn(), t.rowsOut(), t.sentBytes(), t.pulls(), t.pullTimeouts(),
            t.backlogRows() + g.value(), t.stateEntries()));
      }
    }
    for (Gauge g : registry.find(NodeMetricNames.STATE).gauges()) {
      NodeTotal t = node(byNode, g);
      if (t != null) {
        byNode.put(key(g), new NodeTotal(t.query(), t.node(), t.rowsIn(), t.rowsOut(), t.sentBytes(), t.pulls(), t.pullTimeouts(),
            t.backlogRows(), t.stateEntries() + g.value()));
      }
    }
    return List.copyOf(byNode.values());
  }

  private static String key(Meter m) {
    return m.getId().getTag("query") + "/" + m.getId().getTag("node");
  }

  /** The node's entry so far, a new one while fewer than {@link #NODES_MAX} are listed, else null. */
  private static NodeTotal node(Map<String, NodeTotal> byNode, Meter m) {
    NodeTotal t = byNode.get(key(m));
    if (t == null && byNode.size() < NODES_MAX) {
      t = new NodeTotal(m.getId().getTag("query"), m.getId().getTag("node"));
      byNode.put(key(m), t);
    }
    return t;
  }
}
