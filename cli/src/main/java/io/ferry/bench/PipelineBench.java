package io.ferry.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.SinkRows;
import io.ferry.api.NodeStatus;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.SampleQuery;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Throughput and latency of source → filter → window → sink with every batch journaled on H2.
 * Throughput: the sample query's two chains, unpaced, on one member and on three. Latency: a
 * JSON-lines source fed in real time (event time = wall clock), so a window result's latency is
 * its arrival at the sink's reader minus its window end. Run: {@code ./ferry bench} or see the
 * README.
 */
public final class PipelineBench {

  private PipelineBench() {}

  public static void main(String[] args) throws Exception {
    long records = args.length > 0 ? Long.parseLong(args[0]) : 500_000;
    int latencySeconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    // Which cluster sizes to measure: "1,3" by default; "1" alone for a profile or a comparison
    // with a single-JVM peer. A latency of 0 seconds skips the latency run.
    int[] memberCounts = args.length > 2 ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray() : new int[] {1, 3};
    int cores = Runtime.getRuntime().availableProcessors();
    Path base = Files.createTempDirectory("ferry-bench");
    try {
      run(base, records, latencySeconds, memberCounts, cores);
    } finally {
      // Each run leaves 0.5-0.9 GB of journals; a disk filled up with them once.
      BenchFiles.deleteTree(base);
    }
  }

  private static void run(Path base, long records, int latencySeconds, int[] memberCounts, int cores) throws Exception {
    System.out.printf("ferry pipeline benchmark: %d rows per source, 2 sources, %d cores, H2 journal in %s%n", records, cores, base);
    System.out.println("every batch is one journal event at each node (source, filter, window, sink)");
    // One unmeasured run first, so the figures are of compiled code rather than of the JIT warming up.
    throughput(base.resolve("warmup"), 1, Math.max(10_000, records / 5));
    for (int members : memberCounts) {
      if (members != 1 && members != 3) {
        throw new IllegalArgumentException("members must be 1 or 3, got " + members);
      }
      Throughput t = throughput(base.resolve("tp-" + members), members, records);
      System.out.printf(
          "throughput  members=%d  rows=%d  %.2f s  %,.0f rows/s  %,.0f rows/s per core  journal events=%d (%,.0f events/s)  cpu %.1f s: %,.0f rows per cpu-second  load %s%n",
          members, t.rows, t.seconds, t.rows / t.seconds, t.rows / t.seconds / cores, t.events, t.events / t.seconds,
          t.cpuSeconds, t.rows / t.cpuSeconds, loadAverage());
    }
    if (latencySeconds > 0) {
      latency(base.resolve("lat"), latencySeconds);
    }
  }

  /**
   * One measured run. {@code cpuSeconds} is this JVM's CPU time over the run (all its threads, GC
   * included): on a machine shared with other work, rows per CPU-second says what the code costs
   * where wall-clock rows/s mostly says what share of the cores it got.
   */
  record Throughput(long rows, double seconds, long events, double cpuSeconds) {}

  /** This JVM's CPU time so far, in seconds. */
  static double processCpuSeconds() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime() / 1e9;
    }
    throw new IllegalStateException("this JVM does not report its process CPU time");
  }

  /** The 1, 5 and 15 minute load averages, as uptime prints them. */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  private static Map<String, String> sites(int members) {
    Map<String, String> sites = new LinkedHashMap<>();
    if (members == 1) {
      // One member runs everything; it is an edge member, since the sources carry a PII field.
      sites.put("edge-a", "edge");
      return sites;
    }
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    return sites;
  }

  private static Config quiet() {
    return ConfigFactory.parseString("pekko.loglevel = WARNING");
  }

  static Throughput throughput(Path dir, int members, long records) throws Exception {
    return throughput(dir, members, records, quiet());
  }

  static Throughput throughput(Path dir, int members, long records, Config config) throws Exception {
    QueryGraph graph = SampleQuery.graph("bench", records, 0, null);
    Placement placement =
        members == 3 ? SampleQuery.placement(false) : all(graph, "edge-a");
    try (LocalCluster cluster = LocalCluster.start(dir, sites(members), config, Duration.ofSeconds(60))) {
      Ferry ferry = cluster.any().ferry();
      long start = System.nanoTime();
      double cpuStart = processCpuSeconds();
      Deployment d = ferry.deploy(graph, placement).toCompletableFuture().get(30, TimeUnit.SECONDS);
      drain(ferry, d.query(), new NodeId(SampleQuery.SINK), null);
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpuSeconds = processCpuSeconds() - cpuStart;
      long batches = countEvents(ferry, d.query());
      return new Throughput(2 * records, seconds, batches, cpuSeconds);
    }
  }

  /** Journal events written: each node's events ~ its input rows / batch size; read from its status. */
  private static long countEvents(Ferry ferry, QueryId q) throws Exception {
    long events = 0;
    int batch = ConfigFactory.load().getInt("ferry.node.batch-rows-max");
    for (NodeStatus s : ferry.status(q).toCompletableFuture().get(10, TimeUnit.SECONDS)) {
      long in = s.inputAnchors().values().stream().mapToLong(Long::longValue).sum();
      events += Math.max(1, (in + batch - 1) / batch);
    }
    return events;
  }

  private static Placement all(QueryGraph g, String site) {
    Placement.Builder p = Placement.builder();
    g.nodes().forEach(n -> p.place(site, n.id().value()));
    return p.build();
  }

  /** Reads a sink to its end (or until {@code stop}), handing each batch and its arrival time to the caller. */
  private static void drain(Ferry ferry, QueryId q, NodeId sink, Reader reader) throws Exception {
    long after = 0;
    while (true) {
      SinkRows r = ferry.read(q, sink, after, 10_000).toCompletableFuture().get(10, TimeUnit.SECONDS);
      long now = System.currentTimeMillis();
      after = r.next();
      if (reader != null && !reader.accept(r.rows(), now)) {
        return;
      }
      if (r.done()) {
        return;
      }
      if (r.rows().isEmpty()) {
        TimeUnit.MILLISECONDS.sleep(2);
      }
    }
  }

  interface Reader {
    boolean accept(List<Row> rows, long arrivalMillis);
  }

  static void latency(Path dir, int seconds) throws Exception {
    Files.createDirectories(dir);
    int rate = 2_000;
    Schema schema =
        Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("ts", FieldType.TIMESTAMP));
    Query q = Query.named("latency");
    Placement.Builder p = Placement.builder();
    List<Path> files = new ArrayList<>();
    for (String site : new String[] {"a", "b"}) {
      Path file = dir.resolve("input-" + site + ".jsonl");
      Files.createFile(file);
      files.add(file);
      q.readJsonLines("src-" + site, file.toString(), schema)
          .filter("filter-" + site, "src-" + site, Predicate.field("value", Predicate.Op.GE, 0L))
          .window("window-" + site, "filter-" + site, Query.tumbling("key", "ts", Duration.ofMillis(100)).count("n").sum("value", "total"));
      p.place("edge-" + site, "src-" + site, "filter-" + site, "window-" + site);
    }
    q.collect("out", "window-a", "window-b");
    p.place("cloud", "out");
    Config fast = ConfigFactory.parseString("ferry.node.tick = 5ms").withFallback(quiet());
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites(3), fast, Duration.ofSeconds(60))) {
      Ferry ferry = cluster.any().ferry();
      Deployment d = ferry.deploy(q.build(), p.build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      AtomicBoolean running = new AtomicBoolean(true);
      Thread writer = new Thread(() -> feed(files, rate, running), "bench-feed");
      writer.start();
      List<Long> latencies = new ArrayList<>();
      long warmupEnd = System.currentTimeMillis() + 3_000;
      long end = warmupEnd + seconds * 1000L;
      drain(ferry, d.query(), new NodeId("out"), (rows, arrival) -> {
        for (Row r : rows) {
          long windowEnd = (Long) r.get(2);
          if (windowEnd > warmupEnd) {
            latencies.add(arrival - windowEnd);
          }
        }
        return arrival < end;
      });
      running.set(false);
      writer.join();
      long[] l = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      if (l.length == 0) {
        System.out.println("latency: no window results measured");
        return;
      }
      System.out.printf(
          "latency     members=3  %d rows/s per source (event time = wall clock), 100 ms windows, %d results: p50=%d ms p99=%d ms max=%d ms (from window end to the sink's reader)%n",
          rate, l.length, l[l.length / 2], l[(int) Math.min(l.length - 1, Math.floor(l.length * 0.99))], l[l.length - 1]);
    }
  }

  /** Appends rows stamped with the wall clock to each file, every 5 ms, at {@code rate} rows/s per file. */
  private static void feed(List<Path> files, int rate, AtomicBoolean running) {
    long sent = 0;
    long start = System.nanoTime();
    try {
      while (running.get()) {
        long due = (System.nanoTime() - start) * rate / 1_000_000_000L;
        StringBuilder[] chunk = new StringBuilder[files.size()];
        Arrays.setAll(chunk, i -> new StringBuilder());
        long now = System.currentTimeMillis();
        for (; sent < due; sent++) {
          for (int f = 0; f < files.size(); f++) {
            chunk[f].append("{\"key\":\"k").append(sent % 8).append("\",\"value\":").append(sent % 1000).append(",\"ts\":").append(now).append("}\n");
          }
        }
        for (int f = 0; f < files.size(); f++) {
          Files.writeString(files.get(f), chunk[f], StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        }
        TimeUnit.MILLISECONDS.sleep(5);
      }
    } catch (IOException e) {
      throw new IllegalStateException("bench feed failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
