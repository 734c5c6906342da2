package io.ferry.console;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.api.VolumeStatus;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Turns what the cluster said ({@link ClusterView}) into the console's {@link ConsoleSnapshot}:
 * joins queries with their nodes' statuses and the members' timers, and turns running totals into
 * rates and mean latencies over the time since the previous snapshot. Keeps only the previous
 * snapshot's totals (of what is still there), so its memory is bounded by one snapshot. Not
 * thread-safe: one caller at a time ({@link ConsoleSnapshots} serialises them).
 */
public final class SnapshotAssembler {

  /**
   * How much one snapshot may hold, so a big cluster's console stays a bounded message; what is
   * left out is named in {@link ConsoleSnapshot#truncated()}.
   */
  public record Limits(int membersMax, int queriesMax, int nodesPerQueryMax, int migrationsMax, int volumesMax) {
    public Limits {
      if (membersMax < 1 || queriesMax < 1 || nodesPerQueryMax < 1 || migrationsMax < 1 || volumesMax < 1) {
        throw new IllegalArgumentException("console snapshot limits must all be at least 1, got " + this);
      }
    }

    public static final Limits DEFAULT = new Limits(500, 100, 200, 50, 200);
  }

  private final Limits limits;
  private long previousAt = -1;
  /** query/node → output anchor at the previous snapshot. */
  private Map<String, Long> previousOutput = Map.of();
  /** member address + " " + timer key → totals at the previous snapshot. */
  private Map<String, MemberLoad.TimerTotal> previousTimers = Map.of();

  public SnapshotAssembler(Limits limits) {
    this.limits = limits;
  }

  public ConsoleSnapshot assemble(ClusterView view) {
    double seconds = previousAt < 0 || view.at() <= previousAt ? -1 : (view.at() - previousAt) / 1000.0;
    List<String> truncated = new ArrayList<>();
    Map<String, MemberLoad.TimerTotal> timers = new HashMap<>();
    view.loads().forEach((address, load) -> {
      load.nodeBatches().forEach(t -> timers.put(address + " node " + t.key(), t));
      load.volumeFetches().forEach(t -> timers.put(address + " volume " + t.key(), t));
    });

    List<ConsoleSnapshot.Member> members = new ArrayList<>();
    for (ClusterView.ClusterMember m : limited(view.members(), limits.membersMax(), "members", truncated)) {
      Optional<MemberLoad> load = Optional.ofNullable(view.loads().get(m.address()));
      members.add(
          new ConsoleSnapshot.Member(
              m.address(),
              MemberRoles.site(m.roles()).map(Site::name).orElse("?"),
              MemberRoles.tier(m.roles()).map(Tier::label).orElse("?"),
              m.status(),
              m.reachable(),
              load.map(MemberLoad::cpu).filter(c -> c >= 0),
              load.map(MemberLoad::heapUsedBytes),
              load.map(MemberLoad::heapMaxBytes).filter(h -> h >= 0)));
    }

    Map<String, Long> output = new HashMap<>();
    List<ConsoleSnapshot.Query> queries = new ArrayList<>();
    List<QueryInfo> infos = new ArrayList<>(view.queries().orElse(List.of()));
    infos.sort(Comparator.comparing(q -> q.query().value()));
    for (QueryInfo q : limited(infos, limits.queriesMax(), "queries", truncated)) {
      Map<String, NodeStatus> statuses = view.statuses().getOrDefault(q.query().value(), Map.of());
      List<ConsoleSnapshot.Node> nodes = new ArrayList<>();
      for (NodeSpec spec : limited(q.nodes(), limits.nodesPerQueryMax(), "nodes of query " + q.query().value(), truncated)) {
        String id = spec.id().value();
        String key = q.query().value() + "/" + id;
        Optional<String> member = Optional.ofNullable(q.members().get(id));
        NodeStatus status = statuses.get(id);
        Optional<Double> rate = Optional.empty();
        long outputRows = 0;
        long backlog = 0;
        String state = "unknown";
        Optional<String> pausedBy = Optional.empty();
        if (status != null) {
          outputRows = status.outputAnchor();
          backlog = status.retainedRows();
          pausedBy = status.pausedBy();
          state = status.done() ? "done" : pausedBy.isPresent() ? "paused" : "running";
          output.put(key, outputRows);
          Long before = previousOutput.get(key);
          if (before != null && seconds > 0 && outputRows >= before) {
            rate = Optional.of((outputRows - before) / seconds);
          }
        }
        Optional<Double> latency = member.flatMap(a -> meanSince(timers, a + " node " + key));
        nodes.add(
            new ConsoleSnapshot.Node(
                id,
                kind(spec),
                spec.inputs().stream().map(NodeId::value).toList(),
                q.sites().getOrDefault(id, "?"),
                member,
                state,
                pausedBy,
                outputRows,
                rate,
                backlog,
                spec.outputs().isEmpty(),
                latency));
      }
      queries.add(new ConsoleSnapshot.Query(q.query().value(), nodes));
    }

    List<MigrationReport> migrations = new ArrayList<>(view.migrations().orElse(List.of()));
    migrations.sort(Comparator.comparingLong(MigrationReport::startedAtMillis));
    if (migrations.size() > limits.migrationsMax()) {
      truncated.add((migrations.size() - limits.migrationsMax()) + " older migrations (limit " + limits.migrationsMax() + ")");
      migrations = migrations.subList(migrations.size() - limits.migrationsMax(), migrations.size());
    }

    List<ConsoleSnapshot.Volume> volumes = new ArrayList<>();
    List<VolumeStatus> statuses = new ArrayList<>(view.volumes().orElse(List.of()));
    statuses.sort(Comparator.comparing(v -> v.spec().volume().value()));
    for (VolumeStatus v : limited(statuses, limits.volumesMax(), "volumes", truncated)) {
      volumes.add(volume(v, timers));
    }

    this.previousAt = view.at();
    this.previousOutput = Map.copyOf(output);
    this.previousTimers = Map.copyOf(timers);
    return new ConsoleSnapshot(view.at(), view.servedBy(), members, queries, migrations, volumes, truncated, view.unavailable());
  }

  private ConsoleSnapshot.Volume volume(VolumeStatus v, Map<String, MemberLoad.TimerTotal> timers) {
    Map<String, Long> bytes = new LinkedHashMap<>();
    double rate = 0;
    Optional<Double> eta = Optional.empty();
    long onDemand = 0;
    if (v.frontend().isPresent()) {
      VolumeStatus.Frontend f = v.frontend().get();
      onDemand = f.onDemandBlocksFetched();
      if (f.transfer().isPresent()) {
        VolumeStatus.Transfer t = f.transfer().get();
        bytes.put("zero", t.zeroBytes());
        bytes.put("ref", t.refBytes());
        bytes.put("lz4", t.lz4Bytes());
        bytes.put("raw", t.rawBytes());
        rate = t.rateBytesPerSecond();
        eta = t.etaSeconds();
      }
    }
    String id = v.spec().volume().value();
    Optional<Double> latency = Optional.ofNullable(v.frontendMember()).filter(a -> !a.isEmpty()).flatMap(a -> meanSince(timers, a + " volume " + id));
    return new ConsoleSnapshot.Volume(
        id,
        v.spec().sourceSite().name(),
        v.spec().targetSite().name(),
        v.phase().name(),
        v.percent(),
        bytes,
        rate,
        eta,
        onDemand,
        latency,
        v.error() == null ? "" : v.error());
  }

  /** The timer's mean over what it recorded since the previous snapshot; empty when it recorded nothing since. */
  private Optional<Double> meanSince(Map<String, MemberLoad.TimerTotal> timers, String key) {
    MemberLoad.TimerTotal now = timers.get(key);
    if (now == null) {
      return Optional.empty();
    }
    MemberLoad.TimerTotal before = previousTimers.get(key);
    long count = now.count() - (before == null ? 0 : before.count());
    double total = now.totalMillis() - (before == null ? 0 : before.totalMillis());
    // A timer whose node left and came back to the member starts again from zero: its totals went down.
    if (before != null && count < 0) {
      count = now.count();
      total = now.totalMillis();
    }
    return count > 0 ? Optional.of(total / count) : Optional.empty();
  }

  /** The operator's name as graph specs spell it ("window", "collect"), from the one list of operator types. */
  static String kind(NodeSpec spec) {
    for (JsonSubTypes.Type t : OperatorSpec.class.getAnnotation(JsonSubTypes.class).value()) {
      if (t.value().equals(spec.op().getClass())) {
        return t.name();
      }
    }
    return spec.op().getClass().getSimpleName().toLowerCase(Locale.ROOT);
  }

  private static <T> List<T> limited(List<T> all, int max, String what, List<String> truncated) {
    if (all.size() <= max) {
      return all;
    }
    truncated.add((all.size() - max) + " " + what + " (limit " + max + ")");
    return all.subList(0, max);
  }
}
