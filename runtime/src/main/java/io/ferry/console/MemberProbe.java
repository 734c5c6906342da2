package io.ferry.console;

import io.ferry.metrics.FerryMetrics;
import io.ferry.persistence.CborSerializable;
import io.ferry.query.node.NodeMetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Runs on every member and tells any member's console what only this member knows: its CPU, its
 * heap and the totals of its node and fetch timers. Registered with the receptionist under {@link
 * #KEY}; {@link ConsoleSnapshots} asks every registered probe once per snapshot.
 */
public final class MemberProbe {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "ferry-console-probe");

  /** Node batch timer (tags query, node) and on-demand fetch timer (tag volume), as the actors name them. */
  static final String NODE_BATCH = NodeMetricNames.BATCH;
  static final String BLOCK_FETCH = "ferry.block.fetch";
  /** Bounds the reply however many nodes and volumes a member hosts (the console's own snapshot limits are lower). */
  static final int TIMERS_MAX = 2_000;

  public sealed interface Command extends CborSerializable {}

  public record GetLoad(ActorRef<MemberLoad> replyTo) implements Command {}

  private MemberProbe() {}

  public static Behavior<Command> create() {
    return Behaviors.setup(
        ctx -> {
          ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
          String address = Cluster.get(ctx.getSystem()).selfMember().address().toString();
          MeterRegistry registry = FerryMetrics.get(ctx.getSystem()).registry();
          return Behaviors.receive(Command.class)
              .onMessage(GetLoad.class, g -> {
                g.replyTo().tell(load(address, registry));
                return Behaviors.same();
              })
              .build();
        });
  }

  static MemberLoad load(String address, MeterRegistry registry) {
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    double cpu = -1;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      cpu = os.getProcessCpuLoad();
    }
    List<MemberLoad.TimerTotal> batches = new ArrayList<>();
    for (Timer t : registry.find(NODE_BATCH).timers()) {
      if (batches.size() < TIMERS_MAX) {
        batches.add(new MemberLoad.TimerTotal(t.getId().getTag("query") + "/" + t.getId().getTag("node"), t.count(), t.totalTime(TimeUnit.MILLISECONDS)));
      }
    }
    List<MemberLoad.TimerTotal> fetches = new ArrayList<>();
    for (Timer t : registry.find(BLOCK_FETCH).timers()) {
      if (fetches.size() < TIMERS_MAX) {
        fetches.add(new MemberLoad.TimerTotal(t.getId().getTag("volume"), t.count(), t.totalTime(TimeUnit.MILLISECONDS)));
      }
    }
    return new MemberLoad(address, cpu, heap.getUsed(), heap.getMax(), batches, fetches);
  }
}
