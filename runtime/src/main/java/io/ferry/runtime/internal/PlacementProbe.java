package io.ferry.runtime.internal;

import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MemberRoles;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Runs on every member and measures what only this member can for the placement manager: its
 * cores and CPU use, the running totals of its logic nodes' row meters, and the round-trip time to
 * a member of every other site (it pings their probes every {@code interval}).
 */
public final class PlacementProbe {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "ferry-placement-probe");
  /** Bounds a report however many nodes a member hosts. */
  static final int NODES_MAX = 5_000;
  static final String ROWS_IN = "ferry.node.input.rows";
  static final String ROWS_OUT = "ferry.node.output.rows";

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
   */
  public record Report(String address, String site, String tier, int processors, double cpu, List<NodeTotal> nodes, Map<String, Double> rttMillis)
      implements CborSerializable {}

  /** A node's row totals while it ran on this member (the meters restart when it moves). */
  public record NodeTotal(String query, String node, double rowsIn, double rowsOut) implements CborSerializable {}

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
                      g.replyTo().tell(new Report(address, site, tier, Runtime.getRuntime().availableProcessors(), cpu(), totals(registry), Map.copyOf(rtt)));
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

  static List<NodeTotal> totals(MeterRegistry registry) {
    Map<String, double[]> byNode = new HashMap<>();
    for (Counter c : registry.find(ROWS_IN).counters()) {
      byNode.computeIfAbsent(c.getId().getTag("query") + "/" + c.getId().getTag("node"), k -> new double[2])[0] += c.count();
    }
    for (Counter c : registry.find(ROWS_OUT).counters()) {
      byNode.computeIfAbsent(c.getId().getTag("query") + "/" + c.getId().getTag("node"), k -> new double[2])[1] += c.count();
    }
    List<NodeTotal> out = new ArrayList<>();
    for (Map.Entry<String, double[]> e : new TreeMap<>(byNode).entrySet()) {
      if (out.size() >= NODES_MAX) {
        break;
      }
      int slash = e.getKey().indexOf('/');
      out.add(new NodeTotal(e.getKey().substring(0, slash), e.getKey().substring(slash + 1), e.getValue()[0], e.getValue()[1]));
    }
    return out;
  }
}
