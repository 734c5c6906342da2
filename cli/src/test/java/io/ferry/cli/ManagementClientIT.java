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
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.parseString("ferry.placement.manager.re-plan-interval = 500ms"), Duration.ofSeconds(60))) {
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
      // the user's migration pinned window-a: the placement manager says so
      CliRun decisions = CliRun.of("decisions", "--url", url);
      assertEquals(0, decisions.exit(), decisions::toString);
      assertTrue(decisions.out().matches("(?s).*decision executed query=http node=window-a .*-> cloud: a user's migration instruction; pinned.*"), decisions::out);
      // the pin lasts until a user lifts it; a second unpin has nothing to lift
      CliRun unpin = CliRun.of("placement", "unpin", "--query", "http", "--node", "window-a", "--url", url);
      assertEquals(0, unpin.exit(), unpin::toString);
      assertTrue(unpin.out().contains("unpinned window-a of query http"), unpin::out);
      CliRun unpinAgain = CliRun.of("placement", "unpin", "--query", "http", "--node", "window-a", "--url", url);
      assertEquals(1, unpinAgain.exit(), unpinAgain::toString);
      assertTrue(unpinAgain.err().contains("not pinned"), unpinAgain::err);
      // per-query mode: automatic for one query, back to the cluster's; an unknown query or mode is refused
      CliRun auto = CliRun.of("placement", "mode", "automatic", "--query", "http", "--url", url);
      for (int i = 0; i < 50 && auto.exit() != 0; i++) {
        sleep(); // the manager has not re-planned since the query was deployed
        auto = CliRun.of("placement", "mode", "automatic", "--query", "http", "--url", url);
      }
      assertEquals(0, auto.exit(), auto::toString);
      assertTrue(auto.out().contains("placement mode of query http: automatic"), auto::out);
      assertEquals(0, CliRun.of("placement", "mode", "default", "--query", "http", "--url", url).exit());
      CliRun unknown = CliRun.of("placement", "mode", "manual", "--query", "nope", "--url", url);
      assertEquals(1, unknown.exit(), unknown::toString);
      assertTrue(unknown.err().contains("has not seen a query 'nope'"), unknown::err);
      assertEquals(2, CliRun.of("placement", "mode", "sometimes", "--url", url).exit());
      HttpResponse<String> badMode = post(url + "/placement/mode", "{\"mode\": \"sometimes\"}");
      assertEquals(400, badMode.statusCode(), badMode::body);

      // SQL that names only where its sources' data arrives and where its sink's readers are: the planner places the rest
      Path bare = dir.resolve("bare.sql");
      java.nio.file.Files.writeString(bare, java.nio.file.Files.readString(demoSql).replaceAll("/\\*\\+ SITE\\('[a-z-]+'\\) \\*/", ""));
      CliRun sql = CliRun.of("submit", "--sql", bare.toString(), "--query", "plannedsql", "--url", url);
      assertEquals(0, sql.exit(), sql::toString);
      JsonNode planned = null;
      for (JsonNode q : get(url + "/queries")) {
        if (q.path("query").asText().equals("plannedsql")) {
          planned = q;
        }
      }
      assertTrue(planned != null);
      for (JsonNode n : planned.path("nodes")) {
        String node = n.path("node").asText();
        String site = n.path("site").asText();
        // the filters and projections see the PII owner: edge only; the windows shrink what crosses the WAN: at their edge
        if (!node.equals("out")) {
          assertTrue(site.equals("edge-a") || site.equals("edge-b"), planned::toString);
        }
      }
      assertTrue(CliRun.of("status", "--url", url).out().contains("BACKLOG"), "ferry status shows the measured backlog");

      // a plan on the cluster the manager measures, without deploying (it must have re-planned once)
      java.nio.file.Path spec = dir.resolve("spec.json");
      writeSpec(spec);
      CliRun plan = CliRun.of("plan", spec.toString(), "--url", url);
      for (int i = 0; i < 50 && plan.exit() != 0; i++) {
        sleep();
        plan = CliRun.of("plan", spec.toString(), "--url", url);
      }
      assertEquals(0, plan.exit(), plan::toString);
      assertTrue(plan.out().contains("plan of planned") && plan.out().contains("window at edge-a"), plan::out);

      CliRun volume = CliRun.of("volume", "status", "nope", "--url", url);
      assertEquals(1, volume.exit(), volume::toString);
      assertTrue(volume.err().contains("nope"), volume::err);
    }
  }

  private static void writeSpec(java.nio.file.Path spec) {
    io.ferry.query.QueryGraph graph = io.ferry.api.Query.named("planned")
        .generate("src", new io.ferry.query.OperatorSpec.Generate(1, 8, 1_000, 0, 10, 0, 4_000))
        .project("anon", "src", io.ferry.api.Query.project().drop("owner"))
        .window("window", "anon", io.ferry.api.Query.tumbling("key", "ts", Duration.ofSeconds(1)).count("n"))
        .collect("out", "window")
        .build();
    try {
      String json = com.fasterxml.jackson.databind.json.JsonMapper.builder().addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module()).build()
          .writeValueAsString(graph);
      java.nio.file.Files.writeString(spec, "{\"graph\":" + json + ",\"placement\":{\"src\":\"edge-a\",\"out\":\"cloud\"}}");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(200);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
