package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.Test;

/**
 * A request the server's own request timeout cuts off is answered 504 in the one error shape
 * (Pekko's default is a 503 in plain text), through the wrapper ManagementServer puts around its routes.
 */
class RequestTimeoutIT {

  @Test
  void aRequestTheServerTimesOutGets504AsJson() throws Exception {
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(),
            "timeout-it",
            ConfigFactory.parseString("pekko.http.server.request-timeout = 300ms").withFallback(ConfigFactory.load()));
    try {
      // A handler that never answers, as an API call whose asks outlast the request timeout.
      ServerBinding binding =
          Http.get(system)
              .newServerAt("127.0.0.1", 0)
              .bind(ManagementServer.timeoutsAnswer504(() -> completeWithFuture(new CompletableFuture<>())))
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      String url = "http://127.0.0.1:" + binding.localAddress().getPort() + "/queries/q/status";
      HttpResponse<String> a =
          HttpClient.newHttpClient()
              .send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(504, a.statusCode(), a.body());
      assertEquals("application/json", a.headers().firstValue("content-type").orElse(""));
      JsonNode body = new ObjectMapper().readTree(a.body());
      assertTrue(body.path("error").asText().contains("GET /queries/q/status"), a.body());
      binding.terminate(Duration.ofSeconds(2)).toCompletableFuture().get(5, TimeUnit.SECONDS);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
