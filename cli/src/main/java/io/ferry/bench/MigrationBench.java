package io.ferry.bench;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.SinkRows;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.persistence.H2Journal;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The migration pause: a window node moves edge → cloud and back while an endless paced source
 * feeds it. Prints, per direction, p50/p99 of (a) the gap at the sink — the longest time between
 * two consecutive deliveries around the move — and (b) the node's own pause from the stop request
 * to its resume at the target; once with small window state and once with more than 10 MB. The
 * first move of each direction on the fresh cluster is printed on its own ("cold") and left out of
 * the warm percentiles. Then the demo's moves: the demo's query and placement on a fresh cluster,
 * window-a edge-a → cloud and back, on several fresh clusters.
 */
public final class MigrationBench {

  private MigrationBench() {}

  public static void main(String[] args) throws Exception {
    int moves = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    Path base = Files.createTempDirectory("ferry-move-bench");
    System.out.printf("ferry migration benchmark: %d moves per direction, 3 members on loopback, H2 journal in %s (load average %s)%n",
        moves, base, loadAverage());
    // parts to run (the default, all, prints every line below): a quick look at one part
    String parts = args.length > 1 ? args[1] : "all";
    if (!List.of("all", "small", "large", "demo").contains(parts)) {
      throw new IllegalArgumentException("bench-moves parts are all, small, large or demo, got " + parts);
    }
    if (parts.equals("all") || parts.equals("small")) {
      run(base.resolve("small"), "small", 16, 1_000, moves);
    }
    if (parts.equals("all") || parts.equals("large")) {
      run(base.resolve("large"), "large", 150_000, 3_600_000, moves);
    }
    if (parts.equals("all") || parts.equals("demo")) {
      demoMoves(base.resolve("demo"), DEMO_CLUSTERS);
    }
    System.out.printf("load average at the end: %s%n", loadAverage());
  }

  /** Fresh clusters the demo's moves are measured on: each gives one cold move per direction. */
  private static final int DEMO_CLUSTERS = 3;

  /**
   * The demo's query (SampleQuery: two edge pipelines into a collect sink and an archive file) at
   * the demo's pace, on a fresh cluster; window-a moves edge-a → cloud once the sink has rows, and
   * back. Each move is the first of its direction on that cluster, as in {@code ferry demo}.
   */
  private static void demoMoves(Path dir, int clusters) throws Exception {
    Map<String, List<Long>> pauses = new LinkedHashMap<>();
    for (int c = 0; c < clusters; c++) {
      Path data = dir.resolve("cluster-" + c);
      QueryGraph graph = SampleQuery.graph(SampleQuery.QUERY, -1, 5_000, data.resolve("archive.jsonl"));
      try (LocalCluster cluster = LocalCluster.start(data, sites(), ConfigFactory.parseString("pekko.loglevel = WARNING"), Duration.ofSeconds(60))) {
        Ferry ferry = cluster.member("cloud").ferry();
        Deployment d = ferry.deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ferry.read(d.query(), new NodeId(SampleQuery.SINK), 0, 1).toCompletableFuture().get(5, TimeUnit.SECONDS).rows().isEmpty()) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("the demo's query delivered nothing within 30 s");
          }
          TimeUnit.MILLISECONDS.sleep(50);
        }
        for (String to : new String[] {"cloud", "edge-a"}) {
          MigrationReport r = ferry.migrate(MigrationInstruction.of(SampleQuery.QUERY, List.of("window-a"), to)).toCompletableFuture().get(120, TimeUnit.SECONDS);
          if (!r.outcome().equals(MigrationReport.Outcome.COMPLETED)) {
            throw new IllegalStateException("demo move did not complete: " + r);
          }
          String direction = to.equals("cloud") ? "edge->cloud" : "cloud->edge";
          pauses.computeIfAbsent(direction, k -> new ArrayList<>()).add(r.pauseMillis());
          System.out.printf("demo   cluster %d  window-a %-12s  pause %d ms  (%s)%n", c + 1, direction, r.pauseMillis(), steps(r));
          TimeUnit.MILLISECONDS.sleep(500);
        }
      }
    }
    for (Map.Entry<String, List<Long>> e : pauses.entrySet()) {
      System.out.printf("demo   window-a first moves  %-12s  n=%d  pause p50=%d max=%d ms%n",
          e.getKey(), e.getValue().size(), pct(e.getValue(), 50), pct(e.getValue(), 100));
    }
  }

  private static Map<String, String> sites() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    return sites;
  }

  /** The report's steps as "stop 12 + relocate 0 + restore 40". */
  private static String steps(MigrationReport r) {
    StringBuilder b = new StringBuilder();
    for (MigrationReport.Step s : r.steps()) {
      b.append(b.length() == 0 ? "" : " + ").append(s.name()).append(' ').append(s.durationMillis());
    }
    return b.toString();
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (Exception e) {
      return "?";
    }
  }

  private static void run(Path dir, String label, int keys, long windowMs, int moves) throws Exception {
    Map<String, String> sites = sites();
    QueryGraph graph =
        Query.named("bench")
            .generate("src", new OperatorSpec.Generate(3, keys, -1, 1_700_000_000_000L, 2, 0, 20_000))
            .project("anon", "src", Query.project().drop("owner"))
            .window("window", "anon", Query.tumbling("key", "ts", Duration.ofMillis(windowMs)).count("n").sum("value", "total").max("value", "high"))
            .collect("out", "window")
            .build();
    Placement placement = Placement.builder().place("edge-a", "src", "anon", "window").place("cloud", "out").build();
    try (LocalCluster cluster = LocalCluster.start(dir, sites, ConfigFactory.parseString("pekko.loglevel = WARNING"), Duration.ofSeconds(60))) {
      Ferry ferry = cluster.member("cloud").ferry();
      Deployment d = ferry.deploy(graph, placement).toCompletableFuture().get(30, TimeUnit.SECONDS);
      List<Long> arrivals = new CopyOnWriteArrayList<>();
      AtomicBoolean running = new AtomicBoolean(true);
      Thread reader = new Thread(() -> read(ferry, d, arrivals, running), "bench-reader");
      reader.start();
      TimeUnit.SECONDS.sleep(label.equals("large") ? 12 : 3); // let state build up
      Map<String, List<Long>> gaps = new LinkedHashMap<>();
      Map<String, List<Long>> pauses = new LinkedHashMap<>();
      for (int i = 0; i <= moves; i++) {
        for (String to : new String[] {"cloud", "edge-a"}) {
          String direction = to.equals("cloud") ? "edge->cloud" : "cloud->edge";
          long start = System.currentTimeMillis();
          MigrationReport r =
              ferry.migrate(MigrationInstruction.of("bench", List.of("window"), to)).toCompletableFuture().get(120, TimeUnit.SECONDS);
          if (!r.outcome().equals(MigrationReport.Outcome.COMPLETED)) {
            throw new IllegalStateException("move did not complete: " + r);
          }
          TimeUnit.MILLISECONDS.sleep(600);
          if (i == 0) {
            // the first move of each direction on this cluster: cold (serializers, connections, JIT)
            System.out.printf("cold   state=%-5s  first move %-12s  pause %d ms  (%s)%s%n", label, direction, r.pauseMillis(), steps(r),
                label.equals("small")
                    ? String.format("   sink gap %d ms", largestGap(arrivals, start - 100, r.endedAtMillis() + 500))
                    : "");
            continue;
          }
          pauses.computeIfAbsent(direction, k -> new ArrayList<>()).add(r.pauseMillis());
          if (label.equals("small")) {
            gaps.computeIfAbsent(direction, k -> new ArrayList<>()).add(largestGap(arrivals, start - 100, r.endedAtMillis() + 500));
          }
        }
      }
      running.set(false);
      reader.join();
      long snapshotBytes = snapshotBytes(dir);
      if (label.equals("large")) {
        codecs(dir, cluster.member("cloud").system());
      }
      for (String direction : pauses.keySet()) {
        System.out.printf("pause  state=%-5s (%s snapshot)  %-12s  n=%d  node pause p50=%d p99=%d ms%s%n",
            label, human(snapshotBytes), direction, pauses.get(direction).size(), pct(pauses.get(direction), 50), pct(pauses.get(direction), 99),
            gaps.containsKey(direction)
                ? String.format("   sink gap p50=%d p99=%d ms", pct(gaps.get(direction), 50), pct(gaps.get(direction), 99))
                : "");
      }
    }
  }

  private static void read(Ferry ferry, Deployment d, List<Long> arrivals, AtomicBoolean running) {
    long after = 0;
    while (running.get()) {
      try {
        SinkRows r = ferry.read(d.query(), new NodeId("out"), after, 10_000).toCompletableFuture().get(5, TimeUnit.SECONDS);
        if (!r.rows().isEmpty()) {
          arrivals.add(System.currentTimeMillis());
        }
        after = r.next();
        if (r.rows().isEmpty()) {
          TimeUnit.MILLISECONDS.sleep(2);
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        // the sink is busy or moving: read again
      }
    }
  }

  /** The longest time between consecutive deliveries within [from, to], counting the edges. */
  private static long largestGap(List<Long> arrivals, long from, long to) {
    long prev = from;
    long gap = 0;
    for (long a : arrivals) {
      if (a < from) {
        prev = a;
        continue;
      }
      if (a > to) {
        gap = Math.max(gap, a - prev);
        return gap;
      }
      gap = Math.max(gap, a - prev);
      prev = a;
    }
    return Math.max(gap, to - prev);
  }

  private static long pct(List<Long> values, int p) {
    long[] v = values.stream().mapToLong(Long::longValue).sorted().toArray();
    return v[(int) Math.min(v.length - 1, Math.ceil(v.length * p / 100.0) - 1)];
  }

  /**
   * The window node's newest snapshot from the journal, written and read back in the binary
   * format and in Jackson-CBOR (what snapshots were before): sizes and the best of five timings
   * each, so the ratio holds on a loaded machine too.
   */
  private static void codecs(Path dataDir, org.apache.pekko.actor.typed.ActorSystem<?> system) throws Exception {
    org.apache.pekko.serialization.Serialization serialization =
        org.apache.pekko.serialization.SerializationExtension.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system));
    Object snapshot;
    try (Connection c = DriverManager.getConnection(H2Journal.defaultUrl(dataDir), "ferry", "");
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT \"snapshot_ser_id\", \"snapshot_ser_manifest\", \"snapshot_payload\" FROM \"snapshot\" "
                + "WHERE \"persistence_id\" LIKE '%bench/window' ORDER BY \"sequence_number\" DESC LIMIT 1")) {
      if (!rs.next()) {
        return;
      }
      snapshot = serialization.deserialize(rs.getBytes(3), rs.getInt(1), rs.getString(2)).get();
    }
    com.fasterxml.jackson.databind.ObjectMapper cbor = org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider.get(system)
        .getOrCreate("jackson-cbor", java.util.Optional.of(new com.fasterxml.jackson.dataformat.cbor.CBORFactory()));
    byte[] binary = serialization.serialize(snapshot).get();
    byte[] json = cbor.writeValueAsBytes(snapshot);
    int id = serialization.findSerializerFor(snapshot).identifier();
    String manifest = org.apache.pekko.serialization.Serializers.manifestFor(serialization.findSerializerFor(snapshot), snapshot);
    long[] best = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
    for (int i = 0; i < 5; i++) {
      best[0] = Math.min(best[0], time(() -> serialization.serialize(snapshot).get()));
      best[1] = Math.min(best[1], time(() -> serialization.deserialize(binary, id, manifest).get()));
      best[2] = Math.min(best[2], time(() -> cbor.writeValueAsBytes(snapshot)));
      best[3] = Math.min(best[3], time(() -> cbor.readValue(json, io.ferry.query.node.NodeSnapshot.class)));
    }
    System.out.printf("codec  state=large  binary %s write %d ms read %d ms;  Jackson-CBOR %s write %d ms read %d ms  (CBOR/binary: size %.1fx, write+read %.1fx)%n",
        human(binary.length), best[0], best[1], human(json.length), best[2], best[3], json.length / (double) binary.length,
        (best[2] + best[3]) / (double) Math.max(1, best[0] + best[1]));
  }

  private interface Work {
    void run() throws Exception;
  }

  private static long time(Work w) throws Exception {
    long t0 = System.nanoTime();
    w.run();
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** Size of the window node's newest snapshot in the journal. */
  private static long snapshotBytes(Path dataDir) {
    try (Connection c = DriverManager.getConnection(H2Journal.defaultUrl(dataDir), "ferry", "");
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT LENGTH(\"snapshot_payload\") FROM \"snapshot\" WHERE \"persistence_id\" LIKE '%bench/window' ORDER BY \"sequence_number\" DESC LIMIT 1")) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (Exception e) {
      return -1;
    }
  }

  private static String human(long bytes) {
    if (bytes < 0) {
      return "?";
    }
    return bytes >= 1 << 20 ? String.format("%.1f MB", bytes / 1048576.0) : String.format("%.0f KB", bytes / 1024.0);
  }
}
