package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.ferry.runtime.LocalCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry submit}, {@code run --engine auto}, {@code migrate}, {@code status} and {@code volume status} against a three-site cluster's management endpoint. */
class ManagementClientIT {

  @TempDir Path dir;

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r::body);
    return new ObjectMapper().readTree(r.body());
  }

  private static HttpResponse<String> post(String url, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void submitMigrateAndStatusAgainstARealEndpoint() throws Exception {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      String url = cluster.httpUrl("cloud");

      CliRun submit = CliRun.of("submit", "--sample", "--query", "http", "--records", "20000", "--rate", "4000", "--url", url);
      assertEquals(0, submit.exit(), submit::toString);
      assertTrue(submit.out().contains("deployed query http"), submit::out);
      CliRun again = CliRun.of("submit", "--sample", "--query", "http", "--url", url);
      assertEquals(1, again.exit(), again::toString);
      assertTrue(again.err().contains("query refused"), again::err);

      CliRun moved = CliRun.of("migrate", "--query", "http", "--node", "window-a", "--to", "cloud", "--url", url);
      assertEquals(0, moved.exit(), moved::toString);
      assertTrue(moved.out().contains("COMPLETED") && moved.out().contains("restore"), moved::out);

      CliRun refused = CliRun.of("migrate", "--query", "http", "--node", "filter-a", "--to", "cloud", "--url", url);
      assertEquals(1, refused.exit(), refused::toString);
      assertTrue(refused.err().contains("migration refused") && refused.err().contains("PII"), refused::err);

      CliRun status = CliRun.of("status", "--url", url);
      assertEquals(0, status.exit(), status::toString);
      assertTrue(status.out().matches("(?s).*window-a\\s+window\\s+cloud\\s.*"), status::out);
      assertTrue(status.out().contains("query http"), status::out);

      // ferry run --engine auto: the demo's SQL names three sites, so the cluster runs it; the choice and its reason are recorded.
      Path demoSql = Path.of(System.getProperty("user.dir")).getParent().resolve("examples/demo.sql");
      CliRun run = CliRun.of("run", "--engine", "auto", demoSql.toString(), "--query", "viarun", "--url", url);
      assertEquals(0, run.exit(), run::toString);
      assertTrue(run.out().startsWith("engine=distributed (auto: the spec names sites [cloud, edge-a, edge-b]"), run::out);
      JsonNode nodes = get(url + "/queries/viarun/status");
      assertTrue(nodes.size() > 0, nodes::toString);
      for (JsonNode n : nodes) {
        assertEquals("distributed", n.path("engine").path("name").asText(), n::toString);
        assertEquals("auto", n.path("engine").path("chosen").asText(), n::toString);
        assertTrue(n.path("engine").path("reason").asText().contains("[cloud, edge-a, edge-b]"), n::toString);
      }
      assertEquals("explicit", get(url + "/queries/http/status").get(0).path("engine").path("chosen").asText());
      CliRun engines = CliRun.of("status", "--url", url);
      assertTrue(engines.out().contains("query viarun  deployment ") && engines.out().contains("engine distributed (auto: the spec names sites"), engines::out);
      assertTrue(engines.out().matches("(?s).*query http  deployment \\S+  engine distributed \\(explicit: deployed to the cluster\\).*"), engines::out);
      HttpResponse<String> local = post(url + "/queries",
          "{\"query\": \"loc\", \"sql\": \"x\", \"engine\": {\"name\": \"local\", \"chosen\": \"explicit\"}}");
      assertEquals(400, local.statusCode(), local::body);
      assertTrue(local.body().contains("engine") && local.body().contains("distributed engine only"), local::body);

      CliRun volume = CliRun.of("volume", "status", "nope", "--url", url);
      assertEquals(1, volume.exit(), volume::toString);
      assertTrue(volume.err().contains("nope"), volume::err);
    }
  }
}
