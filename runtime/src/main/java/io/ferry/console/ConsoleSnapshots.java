package io.ferry.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.ferry.api.Ferry;
import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.api.VolumeInfo;
import io.ferry.api.VolumeStatus;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A member's source of console snapshots: asks the cluster (membership, every member's {@link
 * MemberProbe}, queries and their nodes, migrations, volumes) at most once per interval however
 * many consoles watch, each part within the gather timeout, and hands the result to {@link
 * SnapshotAssembler}. The management endpoint's {@code GET /events} calls {@link #latest()} once
 * per interval per client.
 */
public final class ConsoleSnapshots {

  /**
   * The {@code ferry.console} section, read once and checked.
   *
   * @param interval time between two snapshots sent to one console
   * @param clientsMax consoles one member streams to at once; more are answered 503
   * @param snapshotBytesMax largest snapshot sent as JSON; a bigger one is sent without its query, migration and volume lists
   * @param gatherTimeout how long one snapshot waits for each part of the cluster
   */
  public record Settings(Duration interval, int clientsMax, long snapshotBytesMax, Duration gatherTimeout) {
    public Settings {
      if (interval.toMillis() < 100 || interval.toMinutes() > 1) {
        throw new IllegalArgumentException("ferry.console.interval must be between 100ms and 1 minute, got " + interval);
      }
      if (clientsMax < 1 || clientsMax > 1000) {
        throw new IllegalArgumentException("ferry.console.clients-max must be between 1 and 1000, got " + clientsMax);
      }
      if (snapshotBytesMax < 4096 || snapshotBytesMax > (64L << 20)) {
        throw new IllegalArgumentException("ferry.console.snapshot-bytes-max must be between 4 KiB and 64 MiB, got " + snapshotBytesMax + " bytes");
      }
      if (gatherTimeout.isZero() || gatherTimeout.isNegative()) {
        throw new IllegalArgumentException("ferry.console.gather-timeout must be positive, got " + gatherTimeout);
      }
    }

    public static Settings from(Config config) {
      String p = "ferry.console.";
      try {
        return new Settings(
            config.getDuration(p + "interval"),
            config.getInt(p + "clients-max"),
            config.getBytes(p + "snapshot-bytes-max"),
            config.getDuration(p + "gather-timeout"));
      } catch (ConfigException e) {
        throw new IllegalArgumentException("invalid console configuration: " + e.getMessage(), e);
      }
    }
  }

  private static final ObjectMapper JSON = JsonMapper.builder().addModule(new Jdk8Module()).build();

  private final ActorSystem<?> system;
  private final Ferry ferry;
  private final Settings settings;
  private final SnapshotAssembler assembler = new SnapshotAssembler(SnapshotAssembler.Limits.DEFAULT);
  private final Object lock = new Object();
  private CompletableFuture<String> current;
  private long currentStartedNanos;

  public ConsoleSnapshots(ActorSystem<?> system, Ferry ferry, Settings settings) {
    this.system = system;
    this.ferry = ferry;
    this.settings = settings;
  }

  public Settings settings() {
    return settings;
  }

  /**
   * The latest snapshot as JSON: the one being gathered or gathered within the last interval (so
   * many consoles cost one gathering), else a new one.
   */
  public CompletableFuture<String> latest() {
    synchronized (lock) {
      long now = System.nanoTime();
      // A little under the interval, so a console ticking every interval never reuses the one it already got.
      long fresh = settings.interval().toNanos() * 3 / 4;
      if (current == null || (current.isDone() && now - currentStartedNanos >= fresh)) {
        currentStartedNanos = now;
        current = gather().thenApply(this::assembleJson);
      }
      return current;
    }
  }

  private String assembleJson(ClusterView view) {
    ConsoleSnapshot snapshot;
    synchronized (assembler) {
      snapshot = assembler.assemble(view);
    }
    return json(snapshot, settings.snapshotBytesMax());
  }

  /** The snapshot as JSON; one over {@code bytesMax} is sent with members only, saying what was left out. */
  static String json(ConsoleSnapshot snapshot, long bytesMax) {
    try {
      byte[] bytes = JSON.writeValueAsBytes(snapshot);
      if (bytes.length <= bytesMax) {
        return new String(bytes, StandardCharsets.UTF_8);
      }
      List<String> truncated = new ArrayList<>(snapshot.truncated());
      truncated.add("queries, migrations and volumes: the snapshot was " + bytes.length + " bytes, over ferry.console.snapshot-bytes-max = " + bytesMax);
      ConsoleSnapshot small =
          new ConsoleSnapshot(snapshot.at(), snapshot.servedBy(), snapshot.members(), List.of(), List.of(), List.of(), truncated, snapshot.unavailable());
      return JSON.writeValueAsString(small);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("console snapshot could not be written as JSON", e);
    }
  }

  private CompletableFuture<ClusterView> gather() {
    long at = System.currentTimeMillis();
    Map<String, String> unavailable = new ConcurrentHashMap<>();
    Cluster cluster = Cluster.get(system);
    ClusterEvent.CurrentClusterState state = cluster.state();
    Set<Address> unreachable = state.getUnreachable().stream().map(m -> m.address()).collect(Collectors.toSet());
    List<ClusterView.ClusterMember> members = new ArrayList<>();
    state.getMembers().forEach(m -> members.add(new ClusterView.ClusterMember(m.address().toString(), m.getRoles(), m.status().toString(), !unreachable.contains(m.address()))));

    CompletableFuture<Map<String, MemberLoad>> loads = loads().exceptionally(e -> {
      unavailable.put("members", "member probes did not answer: " + e);
      return Map.of();
    });
    CompletableFuture<Optional<List<QueryInfo>>> queries = bounded(ferry.queries()).thenApply(Optional::of).exceptionally(e -> {
      unavailable.put("queries", "the query registry did not answer: " + cause(e));
      return Optional.empty();
    });
    CompletableFuture<Map<String, Map<String, NodeStatus>>> statuses = queries.thenCompose(q -> statuses(q.orElse(List.of())));
    CompletableFuture<Optional<List<MigrationReport>>> migrations = bounded(ferry.migrations()).thenApply(Optional::of).exceptionally(e -> {
      unavailable.put("migrations", "the query registry did not answer: " + cause(e));
      return Optional.empty();
    });
    CompletableFuture<Optional<List<VolumeStatus>>> volumes = bounded(ferry.volumes()).thenCompose(this::volumeStatuses).thenApply(Optional::of).exceptionally(e -> {
      unavailable.put("volumes", "the volume registry did not answer: " + cause(e));
      return Optional.empty();
    });
    return CompletableFuture.allOf(loads, statuses, migrations, volumes)
        .thenApply(
            v -> new ClusterView(
                at, cluster.selfMember().address().toString(), members, loads.join(), queries.join(), statuses.join(), migrations.join(), volumes.join(), unavailable));
  }

  private CompletableFuture<Map<String, MemberLoad>> loads() {
    Duration t = settings.gatherTimeout();
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(), r -> Receptionist.find(MemberProbe.KEY, r), t, system.scheduler())
        .toCompletableFuture()
        .thenCompose(
            listing -> {
              List<CompletableFuture<Optional<MemberLoad>>> asks = new ArrayList<>();
              for (ActorRef<MemberProbe.Command> probe : listing.getServiceInstances(MemberProbe.KEY)) {
                asks.add(
                    AskPattern.<MemberProbe.Command, MemberLoad>ask(probe, MemberProbe.GetLoad::new, t, system.scheduler())
                        .toCompletableFuture()
                        .thenApply(Optional::of)
                        .exceptionally(e -> Optional.empty()));
              }
              return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                  .thenApply(
                      v -> {
                        Map<String, MemberLoad> all = new HashMap<>();
                        asks.forEach(a -> a.join().ifPresent(l -> all.put(l.address(), l)));
                        return all;
                      });
            });
  }

  /** Each node's status, asked within the gather timeout; a node that does not answer (moving, unplaced) is left out. */
  private CompletableFuture<Map<String, Map<String, NodeStatus>>> statuses(List<QueryInfo> queries) {
    List<CompletableFuture<Optional<NodeStatus>>> asks = new ArrayList<>();
    for (QueryInfo q : queries.subList(0, Math.min(queries.size(), SnapshotAssembler.Limits.DEFAULT.queriesMax()))) {
      for (NodeSpec n : q.nodes().subList(0, Math.min(q.nodes().size(), SnapshotAssembler.Limits.DEFAULT.nodesPerQueryMax()))) {
        asks.add(
            ferry.nodeStatus(q.query(), n.id(), settings.gatherTimeout()).toCompletableFuture().thenApply(Optional::of).exceptionally(e -> Optional.empty()));
      }
    }
    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              Map<String, Map<String, NodeStatus>> all = new HashMap<>();
              asks.forEach(a -> a.join().ifPresent(s -> all.computeIfAbsent(s.query().value(), k -> new HashMap<>()).put(s.node().value(), s)));
              return all;
            });
  }

  private CompletableFuture<List<VolumeStatus>> volumeStatuses(List<VolumeInfo> volumes) {
    List<CompletableFuture<Optional<VolumeStatus>>> asks = new ArrayList<>();
    for (VolumeInfo v : volumes.subList(0, Math.min(volumes.size(), SnapshotAssembler.Limits.DEFAULT.volumesMax()))) {
      asks.add(bounded(ferry.volumeStatus(v.spec().volume())).thenApply(Optional::of).exceptionally(e -> Optional.empty()));
    }
    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
        .thenApply(v -> asks.stream().map(CompletableFuture::join).flatMap(Optional::stream).toList());
  }

  /** The call, given up after the gather timeout (the call itself ends within the API's ask timeout). */
  private <T> CompletableFuture<T> bounded(java.util.concurrent.CompletionStage<T> call) {
    return call.toCompletableFuture().copy().orTimeout(settings.gatherTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private static String cause(Throwable e) {
    Throwable c = e.getCause() != null ? e.getCause() : e;
    return c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
  }
}
