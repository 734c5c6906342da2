package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Query;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.runtime.LocalCluster;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The management endpoint with security on, over real HTTPS against a real member: a request
 * without a valid token is 401, one whose token's role is too small is 403, and neither changes
 * anything (the lists read back are what they were); an allowed one works; every guarded request
 * is in the audit log with who, what and how it ended, and only admin may read that log.
 */
class HttpSecurityIT {

  @TempDir Path dir;
  private final ObjectMapper json = JsonMapper.builder().addModule(new Jdk8Module()).build();

  /** Runs scripts/dev-ca into {@code out} for {@code names}; shared with the member TLS test. */
  static Path devCa(Path out, String... names) throws IOException, InterruptedException {
    Path script = Path.of("..", "scripts", "dev-ca").toAbsolutePath().normalize();
    List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), out.toString()));
    cmd.addAll(List.of(names));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), output);
    return out;
  }

  static SSLContext trusting(Path truststore, String password) throws Exception {
    KeyStore ts = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(truststore)) {
      ts.load(in, password.toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ts);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  @Test
  void refusedRequestsChangeNothingAndEveryOperationIsAudited() throws Exception {
    Path ca = devCa(dir.resolve("ca"), "http");
    String reader = Tokens.generate();
    String operator = Tokens.generate();
    String admin = Tokens.generate();
    Config security =
        ConfigFactory.parseMap(
                Map.of(
                    "ferry.security.http.keystore", ca.resolve("http.p12").toString(),
                    "ferry.security.http.keystore-password", "ferry-dev",
                    "ferry.security.http.auth", true,
                    "ferry.security.allow-insecure", true))
            .withFallback(
                ConfigFactory.parseString(
                    "ferry.security.http.tokens = ["
                        + "{name = reader, sha256 = \"" + Tokens.sha256Hex(reader) + "\", role = read},"
                        + "{name = operator, sha256 = \"" + Tokens.sha256Hex(operator) + "\", role = operate},"
                        + "{name = root, sha256 = \"" + Tokens.sha256Hex(admin) + "\", role = admin}]"));
    HttpClient http = HttpClient.newBuilder().sslContext(trusting(ca.resolve("truststore.p12"), "ferry-dev")).connectTimeout(Duration.ofSeconds(10)).build();

    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), Map.of("edge-a", "edge"), security, Duration.ofSeconds(60))) {
      String url = cluster.httpUrl("edge-a");
      assertTrue(url.startsWith("https://127.0.0.1:"), url);

      QueryGraph g = Query.named("sec").generate("src", new OperatorSpec.Generate(1, 1, 10, 0, 10, 0, 0)).collect("out", "src").build();
      String deploy = json.writeValueAsString(Map.of("graph", g, "placement", Map.of("src", "edge-a", "out", "edge-a")));
      String volume =
          json.writeValueAsString(Map.of("volume", "v1", "sourceSite", "edge-a", "sourcePath", dir.resolve("none.img").toString(), "targetSite", "cloud"));

      // Public: no token needed.
      assertEquals(200, send(http, url, "GET", "/health", null, Optional.empty()).statusCode());

      // No token, a wrong token: 401 with a Bearer challenge, for reads and changes alike.
      HttpResponse<String> anonymous = send(http, url, "POST", "/queries", deploy, Optional.empty());
      assertEquals(401, anonymous.statusCode(), anonymous.body());
      assertTrue(anonymous.headers().firstValue("www-authenticate").orElse("").startsWith("Bearer"), anonymous.headers().toString());
      assertTrue(json.readTree(anonymous.body()).path("error").asText().contains("admin"), anonymous.body());
      assertEquals(401, send(http, url, "GET", "/queries", null, Optional.of("ferry_not-a-token")).statusCode());
      assertEquals(401, send(http, url, "POST", "/volumes", volume, Optional.of(reader + "x")).statusCode());

      // Too small a role: 403 naming the role needed.
      HttpResponse<String> readerMoves = send(http, url, "POST", "/volumes", volume, Optional.of(reader));
      assertEquals(403, readerMoves.statusCode(), readerMoves.body());
      assertTrue(readerMoves.body().contains("operate"), readerMoves.body());
      assertEquals(403, send(http, url, "POST", "/queries", deploy, Optional.of(operator)).statusCode());
      assertEquals(403, send(http, url, "GET", "/audit", null, Optional.of(operator)).statusCode());
      // A mutating route nobody mapped needs admin.
      assertEquals(403, send(http, url, "POST", "/cluster/leave", "{}", Optional.of(operator)).statusCode());

      // Nothing changed.
      assertEquals("[]", send(http, url, "GET", "/queries", null, Optional.of(reader)).body());
      assertEquals("[]", send(http, url, "GET", "/volumes", null, Optional.of(reader)).body());

      // Allowed: admin deploys, and the deployment is there.
      HttpResponse<String> deployed = send(http, url, "POST", "/queries", deploy, Optional.of(admin));
      assertEquals(201, deployed.statusCode(), deployed.body());
      assertEquals("sec", json.readTree(send(http, url, "GET", "/queries", null, Optional.of(operator)).body()).path(0).path("query").asText());

      HttpResponse<String> audit = send(http, url, "GET", "/audit", null, Optional.of(admin));
      assertEquals(200, audit.statusCode(), audit.body());
      List<String> entries = new ArrayList<>();
      for (JsonNode e : json.readTree(audit.body()).path("entries")) {
        entries.add(e.path("who").asText() + " " + e.path("method").asText() + " " + e.path("path").asText() + " " + e.path("outcome").asText() + " " + e.path("status").asInt());
      }
      List<String> expected =
          List.of(
              "anonymous POST /queries unauthenticated 401",
              "anonymous GET /queries unauthenticated 401",
              "anonymous POST /volumes unauthenticated 401",
              "reader POST /volumes forbidden 403",
              "operator POST /queries forbidden 403",
              "operator GET /audit forbidden 403",
              "operator POST /cluster/leave forbidden 403",
              "reader GET /queries allowed 200",
              "reader GET /volumes allowed 200",
              "root POST /queries allowed 201",
              "operator GET /queries allowed 200");
      assertEquals(expected, entries, audit.body());

      // Plain HTTP to the HTTPS port gets no answer at all.
      HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      assertThrows(
          IOException.class,
          () -> plain.send(HttpRequest.newBuilder(URI.create(url.replace("https:", "http:") + "/queries")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));
    }
  }

  private static HttpResponse<String> send(HttpClient http, String url, String method, String path, String body, Optional<String> token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url + path))
            .timeout(Duration.ofSeconds(30))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
