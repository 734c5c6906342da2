package io.ferry.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.NodeStatus;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The journals side by side: persisted batches per second and rows per second of the sample
 * pipeline on one member, and the recovery time of a node with 10,000 events (no snapshot), on
 * H2 and — when a Cassandra contact point is given — on Cassandra.
 * {@code ferry bench-journal [ROWS_PER_SOURCE] [CASSANDRA_HOST:PORT]}.
 */
public final class JournalBench {

  private static final int RECOVERY_EVENTS = 10_000;

  private JournalBench() {}

  public static void main(String[] args) throws Exception {
    long rows = args.length > 0 ? Long.parseLong(args[0]) : 300_000;
    String cassandra = args.length > 1 ? args[1] : null;
    Path base = Files.createTempDirectory("ferry-journal-bench");
    System.out.printf("ferry journal benchmark: %d rows per source, one member, every batch journaled%n", rows);
    Map<String, Config> journals = new LinkedHashMap<>();
    journals.put("h2", ConfigFactory.parseString("ferry.persistence.journal = h2"));
    if (cassandra != null) {
      journals.put("cassandra",
          ConfigFactory.parseString(
              "ferry.persistence.journal = cassandra\n"
                  + "ferry.persistence.cassandra.contact-points = [\"" + cassandra + "\"]\n"
                  + "ferry.persistence.cassandra.journal-keyspace = ferry_bench_" + System.currentTimeMillis() % 100000 + "\n"
                  + "ferry.persistence.cassandra.snapshot-keyspace = ferry_bench_snap_" + System.currentTimeMillis() % 100000));
    } else {
      System.out.println("(no Cassandra contact point given: H2 only; start one with scripts/cassandra start)");
    }
    Map<String, double[]> figures = new LinkedHashMap<>();
    for (Map.Entry<String, Config> j : journals.entrySet()) {
      Config c = j.getValue().withFallback(ConfigFactory.parseString("pekko.loglevel = WARNING"));
      PipelineBench.Throughput t = PipelineBench.throughput(base.resolve(j.getKey() + "-tp"), 1, rows, c);
      long recoveryMs = recovery(base.resolve(j.getKey() + "-rec"), c);
      figures.put(j.getKey(), new double[] {t.events() / t.seconds(), t.rows() / t.seconds(), recoveryMs});
      System.out.printf("journal=%-9s  %,.0f batches/s  %,.0f rows/s  recovery of a node with %,d events: %d ms%n",
          j.getKey(), t.events() / t.seconds(), t.rows() / t.seconds(), RECOVERY_EVENTS, recoveryMs);
    }
    if (figures.size() == 2) {
      double[] h = figures.get("h2");
      double[] c = figures.get("cassandra");
      System.out.printf("cassandra/h2: batches/s %.2fx  rows/s %.2fx  recovery %.2fx%n", c[0] / h[0], c[1] / h[1], c[2] / h[2]);
    }
  }

  /**
   * A source node persists {@value #RECOVERY_EVENTS} one-row batches with snapshots off; then its
   * member crashes and a fresh member asks it for its status: the time to that answer is
   * allocation plus replaying every event.
   */
  static long recovery(Path dir, Config journal) throws Exception {
    Config c =
        ConfigFactory.parseString("ferry.node.batch-rows-max = 1\nferry.node.retain-rows-max = 100000\nferry.node.snapshot-every = 1000000")
            .withFallback(journal);
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    // A third member, so the survivors of the crash below are a majority and down the crashed one.
    sites.put("edge-b", "edge");
    // Both nodes at the edge: the sink receives the source's PII field.
    QueryGraph g =
        Query.named("recovery")
            .generate("src", new OperatorSpec.Generate(1, 4, RECOVERY_EVENTS, 0, 1, 0, 0))
            .collect("out", "src")
            .build();
    try (LocalCluster cluster = LocalCluster.start(dir, sites, c, Duration.ofSeconds(60))) {
      Ferry ferry = cluster.member("cloud").ferry();
      Deployment d = ferry.deploy(g, Placement.builder().place("edge-a", "src", "out").build())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (!status(ferry, d).done()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the source did not write its events in time");
        }
        TimeUnit.MILLISECONDS.sleep(200);
      }
      FerryNode edge = cluster.member("edge-a");
      edge.crash();
      FerryNode fresh = cluster.startMember("edge-a", "edge");
      cluster.awaitCrashedRemoved(Duration.ofSeconds(60));
      cluster.awaitAllUp(Duration.ofSeconds(60));
      // Wait until the registry has placed src on the fresh member, so the ask below recovers it there.
      long placedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!placedOn(ferry, d, fresh.address())) {
        if (System.nanoTime() > placedBy) {
          throw new IllegalStateException("src was not re-placed on the fresh member within 60 s");
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
      long start = System.nanoTime();
      NodeStatus s = status(fresh.ferry(), d);
      long ms = (System.nanoTime() - start) / 1_000_000;
      if (s.outputAnchor() != RECOVERY_EVENTS) {
        throw new IllegalStateException("recovered output " + s.outputAnchor() + ", expected " + RECOVERY_EVENTS);
      }
      return ms;
    }
  }

  private static boolean placedOn(Ferry ferry, Deployment d, String address) throws Exception {
    return ferry.queries().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
        .anyMatch(q -> q.query().equals(d.query()) && address.equals(q.members().get("src")));
  }

  private static NodeStatus status(Ferry ferry, Deployment d) throws Exception {
    return ferry.nodeStatus(d.query(), new NodeId("src")).toCompletableFuture().get(90, TimeUnit.SECONDS);
  }
}
