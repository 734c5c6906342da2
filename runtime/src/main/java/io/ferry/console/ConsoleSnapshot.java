package io.ferry.console;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.ferry.placement.MigrationReport;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole cluster at one moment, as the web console draws it: members by site, every query's
 * nodes with where they run and how fast, migrations, volumes. {@link SnapshotAssembler} builds
 * one per second; {@code GET /events} sends it to each console as one server-sent event.
 *
 * @param at when it was assembled (epoch ms)
 * @param servedBy the member whose endpoint assembled it
 * @param truncated what was left out to keep the snapshot within its limits, empty when nothing
 * @param unavailable the parts the cluster did not answer for this time (e.g. "volumes"), with why
 */
public record ConsoleSnapshot(
    long at,
    String servedBy,
    List<Member> members,
    List<Query> queries,
    List<MigrationReport> migrations,
    List<Volume> volumes,
    List<String> truncated,
    Map<String, String> unavailable) {

  public ConsoleSnapshot {
    members = List.copyOf(members);
    queries = List.copyOf(queries);
    migrations = List.copyOf(migrations);
    volumes = List.copyOf(volumes);
    truncated = List.copyOf(truncated);
    unavailable = Map.copyOf(unavailable);
  }

  /**
   * A cluster member.
   *
   * @param status the cluster's membership status (Up, Leaving, …)
   * @param reachable false when some member's failure detector marks it unreachable
   * @param cpu the member process's recent CPU use, 0..1; empty when it did not answer
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  public record Member(
      String address,
      String site,
      String tier,
      String status,
      boolean reachable,
      Optional<Double> cpu,
      Optional<Long> heapUsedBytes,
      Optional<Long> heapMaxBytes) {}

  /** A deployed query and its nodes. */
  public record Query(String query, List<Node> nodes) {
    public Query {
      nodes = List.copyOf(nodes);
    }
  }

  /**
   * One node of a query.
   *
   * @param kind the operator (source, filter, window, sink…)
   * @param inputs upstream node ids, to draw the graph's edges
   * @param site where the registry places it
   * @param member the member it runs on; empty while it is not placed
   * @param state running, paused (a migration holds it), done, or unknown (it did not answer: moving or unplaced)
   * @param outputRows rows it ever output (its output anchor)
   * @param rowsPerSecond output rows per second since the previous snapshot; empty on the first
   * @param backlogRows output rows it still keeps for its consumers
   * @param latencyMillis mean time from an input batch taken to its event persisted since the previous snapshot; empty without batches
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  public record Node(
      String node,
      String kind,
      List<String> inputs,
      String site,
      Optional<String> member,
      String state,
      Optional<String> pausedBy,
      long outputRows,
      Optional<Double> rowsPerSecond,
      long backlogRows,
      boolean sink,
      Optional<Double> latencyMillis) {
    public Node {
      inputs = List.copyOf(inputs);
    }
  }

  /**
   * A volume migration.
   *
   * @param bytesByKind bytes on the wire per frame kind (zero, ref, lz4, raw)
   * @param onDemandLatencyMillis mean wait of NBD reads that fetched blocks on demand since the previous snapshot
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  public record Volume(
      String volume,
      String from,
      String to,
      String phase,
      double percent,
      Map<String, Long> bytesByKind,
      double rateBytesPerSecond,
      Optional<Double> etaSeconds,
      long onDemandBlocks,
      Optional<Double> onDemandLatencyMillis,
      String error) {
    public Volume {
      bytesByKind = Map.copyOf(bytesByKind);
    }
  }
}
