package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.SinkReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /ingest/{source}} on an edge member: good requests are taken once each (also while
 * the ingest node moves to the cloud: a 503 is retried), and every bad request (malformed JSON,
 * a wrong type, too many bytes, an unknown or malformed source) is refused with a clear error and
 * takes nothing, so the sink holds exactly the good rows.
 */
class IngestHttpIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Schema READINGS =
      Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("ts", FieldType.TIMESTAMP));
  private static final int REQUESTS = 40;
  private static final int ROWS_PER_REQUEST = 50;

  @TempDir Path dir;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private record Answer(int status, JsonNode body) {}

  private Answer post(String url, String body) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/x-ndjson").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    HttpResponse<String> a = http.send(r, HttpResponse.BodyHandlers.ofString());
    return new Answer(a.statusCode(), JSON.readTree(a.body()));
  }

  private static void assertError(Answer a, int status, String fragment) {
    assertEquals(status, a.status(), a::toString);
    assertTrue(a.body().path("error").asText().contains(fragment), () -> "error lacks '" + fragment + "': " + a);
  }

  private static String line(long i) {
    return "{\"key\":\"k" + (i % 7) + "\",\"value\":" + (i * 37 % 1000) + ",\"ts\":" + (1_700_000_000_000L + i) + "}";
  }

  @Test
  void goodRowsAreTakenOnceAndBadRequestsTakeNothing() throws Exception {
    long total = (long) REQUESTS * ROWS_PER_REQUEST;
    QueryGraph graph = Query.named("ingest")
        .add("in", new OperatorSpec.Ingest("readings", READINGS, total))
        .filter("big", "in", Predicate.field("value", Predicate.Op.GE, 0L))
        .collect("out", "big")
        .build();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, Placement.builder().place("edge-a", "in", "big").place("cloud", "out").build())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      String url = cluster.httpUrl("edge-a") + "/ingest/readings";

      assertError(post(url, line(0) + "\n{\"key\": \n" + line(2)), 400, "line 2: malformed JSON");
      assertError(post(url, line(0) + "\n\n" + "{\"key\":\"k\",\"value\":\"12\"}"), 400, "line 3: field 'value' is LONG");
      assertError(post(url, line(0) + "\n" + "x".repeat(70_000)), 413, "request-bytes-max");
      assertError(post(url, "\n \n"), 400, "no rows");
      assertError(post(cluster.httpUrl("edge-a") + "/ingest/nobody", line(0)), 404, "no deployed query has an ingest source 'nobody'");
      assertError(post(cluster.httpUrl("edge-a") + "/ingest/-bad", line(0)), 400, "source must be");

      List<Row> sent = new ArrayList<>();
      CompletableFuture<MigrationReport> move = null;
      long next = 0;
      int retried = 0;
      for (int r = 0; r < REQUESTS; r++) {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < ROWS_PER_REQUEST; i++) {
          long n = (long) r * ROWS_PER_REQUEST + i;
          body.append(line(n)).append('\n');
          sent.add(Row.of("k" + (n % 7), n * 37 % 1000, 1_700_000_000_000L + n));
        }
        if (r == REQUESTS / 2) {
          move = cluster.any().ferry().migrate(MigrationInstruction.of(d.query().value(), List.of("in"), "cloud")).toCompletableFuture();
        }
        Answer a = post(url, body.toString());
        while (a.status() == 503 || a.status() == 504) {
          retried++;
          TimeUnit.MILLISECONDS.sleep(50);
          a = post(url, body.toString());
        }
        assertEquals(200, a.status(), a::toString);
        assertEquals(next, a.body().path("from").asLong(), "a refused request took nothing, so anchors stay contiguous");
        assertEquals(ROWS_PER_REQUEST, a.body().path("accepted").asLong());
        next = a.body().path("next").asLong();
      }
      assertEquals(MigrationReport.Outcome.COMPLETED, move.get(120, TimeUnit.SECONDS).outcome());
      assertError(post(url, line(0)), 409, "has ended");

      try (SinkReader out = SinkReader.start(cluster, d.query(), "out")) {
        out.awaitDone(Duration.ofMinutes(1));
        OnceOnlyChecker.Verdict v = out.assertOnceOnly(sent);
        assertEquals(total, v.actualRows(), "retried requests: " + retried);
      }
    }
  }
}
