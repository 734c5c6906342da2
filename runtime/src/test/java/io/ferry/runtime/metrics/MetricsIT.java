package io.ferry.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.api.SinkRows;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import io.ferry.transport.nbd.NbdClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * GET /metrics on real members after real work: a query runs at the edge and its sink moves to
 * the cloud over the management endpoint, and an NBD client reads a migrating volume's far end
 * before the background copy reaches it. The Prometheus text must hold the node timers, the
 * migration's step timers, the on-demand fetch timer and the block counters, with values above 0.
 */
@ExtendWith(SeedExtension.class)
class MetricsIT {

  private static final int BLOCK = 64 * 1024;
  private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)})? (\\S+)$");

  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();

  /** The sum of the series named {@code name} whose labels include {@code labels}; -1 when there is none. */
  static double value(String scrape, String name, Map<String, String> labels) {
    double sum = -1;
    for (String line : scrape.split("\n")) {
      Matcher m = LINE.matcher(line);
      if (!m.matches() || !m.group(1).equals(name)) {
        continue;
      }
      String given = m.group(3) == null ? "" : m.group(3);
      boolean all = labels.entrySet().stream().allMatch(e -> given.contains(e.getKey() + "=\"" + e.getValue() + "\""));
      if (all) {
        sum = Math.max(sum, 0) + Double.parseDouble(m.group(4));
      }
    }
    return sum;
  }

  private String scrape(String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers()::toString);
    return r.body();
  }

  private static void assertPositive(String scrape, String name, Map<String, String> labels) {
    double v = value(scrape, name, labels);
    assertTrue(v > 0, () -> name + labels + " = " + v + " in\n" + Arrays.stream(scrape.split("\n")).filter(l -> l.startsWith("ferry_")).toList());
  }

  @Test
  void theValueParserMatchesNameAndLabels() {
    String text = "# TYPE x_total counter\nx_total{a=\"1\",b=\"2\"} 3.0\nx_total{a=\"2\"} 4.0\nx_total_more 9\n";
    assertEquals(3.0, value(text, "x_total", Map.of("a", "1")));
    assertEquals(7.0, value(text, "x_total", Map.of()));
    assertEquals(-1, value(text, "x_total", Map.of("a", "3")));
  }

  @Test
  void metricsShowNodesMigrationsAndBlockFetches(Seed testSeed) throws Exception {
    long seed = testSeed.value();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    // A slow emulated block link, so the background copy is far from the image's end when it is read.
    var slow = ConfigFactory.parseString("ferry.blocks.emulate { one-way-delay = 2ms, bandwidth = \"8 Mbit\" }\nferry.blocks.link { rtt = 4ms, bandwidth = \"8 Mbit\" }\n");
    Path image = dir.resolve("vol.img");
    byte[] bytes = new byte[16 * 1024 * 1024];
    new Random(seed).nextBytes(bytes);
    Files.write(image, bytes);

    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, slow, Duration.ofSeconds(60))) {
      Ferry ferry = cluster.member("cloud").ferry();
      QueryGraph g =
          Query.named("m")
              .generate("src", new OperatorSpec.Generate(seed, 4, 3000, 0, 10, 0, 0))
              .project("anon", "src", Query.project().mask("owner"))
              .collect("out", "anon")
              .build();
      Deployment d = ferry.deploy(g, Placement.builder().place("edge-a", "src", "anon", "out").build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      long after = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        assertTrue(System.nanoTime() < deadline, "the query did not finish within 60 s; read up to " + after);
        SinkRows r;
        try {
          r = ferry.read(d.query(), new NodeId("out"), after, 1000).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
          continue; // a read sent while the sink's shard is handed to its member may be dropped: read again
        }
        after = r.next();
        if (r.done()) {
          break;
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
      assertEquals(3000, after);
      String cloud = cluster.httpUrl("cloud");
      // Asked through the edge member's API: the move is counted where it ends, by the placement
      // manager (a singleton on the oldest member, the cloud one), not by the member that asked.
      HttpResponse<String> moved =
          http.send(
              HttpRequest.newBuilder(URI.create(cluster.httpUrl("edge-a") + "/migrations"))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString("{\"query\":\"m\",\"nodes\":[\"out\"],\"to\":\"cloud\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, moved.statusCode(), moved.body());
      assertTrue(moved.body().contains("\"outcome\":\"COMPLETED\""), moved.body());

      ferry.startVolume(new VolumeSpec(new VolumeId("vol-m"), "edge-a", image.toString(), "cloud", BLOCK, "")).toCompletableFuture().get(30, TimeUnit.SECONDS);
      VolumeStatus st = awaitExported(ferry, "vol-m");
      URI nbd = URI.create(st.nbdUrl());
      try (NbdClient client = NbdClient.connect(nbd.getHost(), nbd.getPort(), "vol-m", Duration.ofSeconds(30))) {
        for (int i = 1; i <= 4; i++) {
          int offset = bytes.length - i * BLOCK;
          assertArrayEquals(Arrays.copyOfRange(bytes, offset, offset + BLOCK), client.read(offset, BLOCK), "block at " + offset);
        }
      }

      String target = scrape(cloud);
      assertPositive(target, "ferry_migration_step_seconds_count", Map.of("outcome", "COMPLETED", "step", "restore"));
      assertEquals(1.0, value(target, "ferry_migration_ended_total", Map.of("outcome", "COMPLETED")));
      assertPositive(target, "ferry_block_fetch_seconds_count", Map.of("volume", "vol-m"));
      assertPositive(target, "ferry_volume_frontend_fetched_blocks_total", Map.of("volume", "vol-m"));
      assertPositive(target, "ferry_block_received_bytes_total", Map.of("stream", "on-demand"));

      String edge = scrape(cluster.httpUrl("edge-a"));
      assertEquals(-1, value(edge, "ferry_migration_ended_total", Map.of("outcome", "COMPLETED")), "the asking member counts no move");
      assertPositive(edge, "ferry_node_pull_seconds_count", Map.of("query", "m", "node", "anon"));
      assertPositive(edge, "ferry_node_batch_seconds_count", Map.of("query", "m", "node", "anon"));
      assertPositive(edge, "ferry_node_batch_seconds_sum", Map.of("query", "m", "node", "src"));
      assertPositive(edge, "ferry_node_output_rows_total", Map.of("query", "m", "node", "src"));
      assertPositive(edge, "ferry_node_input_rows_total", Map.of("query", "m", "node", "anon"));
      assertPositive(edge, "ferry_node_input_rows_total", Map.of("query", "m", "node", "src"));
      assertEquals(-1, value(edge, "ferry_node_batch_seconds_count", Map.of("query", "m", "node", "out")), "a node that moved away leaves no series behind");
      assertPositive(edge, "ferry_volume_backend_sent_bytes_total", Map.of("volume", "vol-m"));
      assertPositive(edge, "ferry_block_sent_bytes_total", Map.of("stream", "on-demand"));
      assertPositive(edge, "jvm_memory_used_bytes", Map.of("area", "heap"));
      ferry.stopVolume(new VolumeId("vol-m")).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static VolumeStatus awaitExported(Ferry ferry, String volume) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      VolumeStatus st = ferry.volumeStatus(new VolumeId(volume)).toCompletableFuture().get(20, TimeUnit.SECONDS);
      if (st.frontend().isPresent() && !st.nbdUrl().isEmpty()) {
        return st;
      }
      assertTrue(System.nanoTime() < deadline, "volume " + volume + " was not exported within 60 s: " + st);
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }
}
