package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.ferry.placement.MigrationReport;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.SampleQuery;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The management endpoint over real HTTP on a three-site cluster: listing, status, a migration
 * that completes, one refused for PII, malformed requests. (The {@code ferry status} and {@code ferry
 * migrate} commands against it: the cli module's ManagementClientIT.)
 */
class ManagementHttpIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);

  @TempDir Path dir;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private record Answer(int status, JsonNode body, String contentType) {}

  private Answer call(String method, String url, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT);
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), JSON.readTree(r.body()), r.headers().firstValue("Content-Type").orElse(""));
  }

  private static JsonNode node(JsonNode queries, String query, String node) {
    for (JsonNode q : queries) {
      if (q.path("query").asText().equals(query)) {
        for (JsonNode n : q.path("nodes")) {
          if (n.path("node").asText().equals(node)) {
            return n;
          }
        }
      }
    }
    throw new AssertionError("no node " + query + "/" + node + " in " + queries);
  }

  private static void assertError(Answer a, int status, String fragment) {
    assertEquals(status, a.status(), a::toString);
    assertTrue(a.contentType().startsWith("application/json"), a::toString);
    assertTrue(a.body().path("error").asText().contains(fragment), () -> "error lacks '" + fragment + "': " + a);
  }

  private static LocalCluster threeSites(Path data) {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    return LocalCluster.start(data, sites, ConfigFactory.empty(), Duration.ofSeconds(60));
  }

  @Test
  void queriesStatusAndMigrationsOverHttp() throws Exception {
    try (LocalCluster cluster = threeSites(dir.resolve("data"))) {
      Set<Integer> ports = new HashSet<>();
      cluster.live().forEach(m -> ports.add(m.httpPort().orElseThrow()));
      assertEquals(3, ports.size(), "each member of one JVM listens on its own port: " + ports);
      cluster.any().ferry().deploy(SampleQuery.graph("http", 20_000, 4_000, null), SampleQuery.placement(false))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      String url = cluster.httpUrl("cloud");

      Answer health = call("GET", cluster.httpUrl("edge-b") + "/health", null);
      assertEquals(200, health.status(), health::toString);
      assertEquals("edge-b", health.body().path("site").asText());
      assertEquals("edge", health.body().path("tier").asText());
      assertEquals(cluster.member("edge-b").address(), health.body().path("member").asText());

      Answer queries = call("GET", url + "/queries", null);
      assertEquals(200, queries.status(), queries::toString);
      JsonNode window = node(queries.body(), "http", "window-a");
      assertEquals("window", window.path("op").asText());
      assertEquals("edge-a", window.path("site").asText());
      assertEquals(cluster.member("edge-a").address(), window.path("member").asText());
      assertEquals("cloud", node(queries.body(), "http", SampleQuery.SINK).path("site").asText());

      Answer status = call("GET", url + "/queries/http/status", null);
      assertEquals(200, status.status(), status::toString);
      assertEquals(queries.body().get(0).path("nodes").size(), status.body().size(), status::toString);
      assertTrue(status.body().get(0).has("outputAnchor") && status.body().get(0).has("inputAnchors"), status::toString);
      assertError(call("GET", url + "/queries/nope/status", null), 404, "nope");
      Answer badQuery = call("GET", url + "/queries/-nope/status", null);
      assertError(badQuery, 400, "-nope");
      assertEquals("query", badQuery.body().path("field").asText(), badQuery::toString);
      Answer badMigration = call("GET", url + "/migrations/-m", null);
      assertError(badMigration, 400, "-m");
      assertEquals("id", badMigration.body().path("field").asText(), badMigration::toString);

      // SQL in POST /queries: the member compiles it (module ferry-sql on the class path) and places it by its hints.
      String sql = "CREATE TABLE src (`key` STRING, `value` BIGINT, ts TIMESTAMP(3), owner STRING) WITH ('connector' = 'generator', 'count' = '100', 'site' = 'edge-b');\n"
          + "CREATE TABLE sink WITH ('connector' = 'collect', 'site' = 'edge-b');\nINSERT INTO sink SELECT `key`, `value` FROM src WHERE `value` > 10";
      Answer viaSql = call("POST", url + "/queries", JSON.writeValueAsString(java.util.Map.of("query", "viasql", "sql", sql)));
      assertEquals(201, viaSql.status(), viaSql::toString);
      assertEquals("edge-b", node(call("GET", url + "/queries", null).body(), "viasql", "sink").path("site").asText());
      Answer badSql = call("POST", url + "/queries", JSON.writeValueAsString(java.util.Map.of("query", "badsql", "sql", sql.replace("`value` > 10", "nope > 10"))));
      assertError(badSql, 400, "line 3, column 55: unknown column");
      assertEquals("sql", badSql.body().path("field").asText(), badSql::toString);
      assertError(call("POST", url + "/volumes/-v/stop", null), 400, "-v");

      Answer moved = call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[\"window-a\"],\"to\":\"cloud\"}");
      assertEquals(200, moved.status(), moved::toString);
      assertEquals(MigrationReport.Outcome.COMPLETED.name(), moved.body().path("outcome").asText(), moved::toString);
      assertEquals("cloud", moved.body().path("sites").path("window-a").asText(), moved::toString);
      assertEquals("cloud", node(call("GET", url + "/queries", null).body(), "http", "window-a").path("site").asText());

      assertError(call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[\"filter-a\"],\"to\":\"cloud\"}"), 409, "PII");
      assertError(call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[\"window-a\""), 400, "malformed JSON");
      assertError(call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[\"window-a\"]}"), 400, "'to'");
      assertError(call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[],\"to\":\"edge-a\"}"), 400, "'nodes'");
      Answer unknown = call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[\"window-a\"],\"toSite\":\"edge-a\"}");
      assertError(unknown, 400, "'toSite'");
      assertEquals("toSite", unknown.body().path("field").asText(), unknown::toString);
      assertEquals("to", call("POST", url + "/migrations", "{\"query\":\"http\",\"nodes\":[\"window-a\"]}").body().path("field").asText());
      assertTrue(call("GET", url + "/nowhere", null).body().path("field").isMissingNode(), "an error about no field has no field key");
      assertError(call("POST", url + "/migrations", "{\"query\":\"" + "x".repeat(70_000) + "\"}"), 413, "request-bytes-max");
      assertError(call("DELETE", url + "/queries", null), 405, "GET");
      assertError(call("GET", url + "/nowhere", null), 404, "");

      everyDocumentedRouteIsServed(url);

      String id = moved.body().path("id").asText();
      Answer one = call("GET", url + "/migrations/" + id, null);
      assertEquals(200, one.status(), one::toString);
      assertEquals(id, one.body().path("id").asText());
      assertEquals(MigrationReport.Outcome.COMPLETED.name(), one.body().path("outcome").asText());
      Answer all = call("GET", url + "/migrations", null);
      assertEquals(1, all.body().size(), "refused moves are not recorded: " + all);
      assertError(call("GET", url + "/migrations/m-nope", null), 404, "m-nope");
    }
  }

  /**
   * Each operation of the served openapi.yaml, called with placeholder parameters and an empty
   * object as body, reaches its handler: no "no such route" 404 and no 405 (a handler's own 404,
   * such as an unknown query, says what it did not find).
   */
  private void everyDocumentedRouteIsServed(String url) throws Exception {
    HttpResponse<String> doc = http.send(HttpRequest.newBuilder(URI.create(url + "/openapi.yaml")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, doc.statusCode());
    assertTrue(doc.headers().firstValue("Content-Type").orElse("").startsWith("application/yaml"), doc.headers()::toString);
    JsonNode paths = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(doc.body()).path("paths");
    int called = 0;
    for (var path = paths.fields(); path.hasNext(); ) {
      var p = path.next();
      String concrete = p.getKey().replaceAll("\\{[^}]+}", "placeholder-1");
      for (var op = p.getValue().fieldNames(); op.hasNext(); ) {
        String method = op.next().toUpperCase(java.util.Locale.ROOT);
        if (concrete.equals("/openapi.yaml")) {
          continue; // fetched above
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + concrete)).timeout(REQUEST_TIMEOUT);
        b.method(method, method.equals("POST") ? HttpRequest.BodyPublishers.ofString("{}") : HttpRequest.BodyPublishers.noBody());
        HttpResponse<java.io.InputStream> streamed = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        String body;
        try (java.io.InputStream in = streamed.body()) {
          // The console's event stream never ends: its first event shows it is served.
          boolean events = streamed.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream");
          body = events ? new String(in.readNBytes(16), java.nio.charset.StandardCharsets.UTF_8) : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        int status = streamed.statusCode();
        assertTrue(status != 405 && !(status == 404 && body.contains("requested resource could not be found")),
            () -> method + " " + concrete + " is documented but not served: " + status + " " + body);
        called++;
      }
    }
    assertEquals(ManagementServer.ENDPOINTS.size() - 1, called, "every endpoint but the document itself was called");
  }

  @Test
  void aTakenPortFailsTheMemberStartNamingTheSetting() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () ->
                  LocalCluster.start(
                      dir.resolve("taken"),
                      Map.of("cloud", "cloud"),
                      ConfigFactory.parseMap(Map.of("ferry.http.port", taken.getLocalPort())),
                      Duration.ofSeconds(30)));
      assertTrue(e.getMessage().contains("ferry.http.port = " + taken.getLocalPort()), e::getMessage);
      assertTrue(e.getMessage().contains("0 picks one"), e::getMessage);
    }
  }
}
