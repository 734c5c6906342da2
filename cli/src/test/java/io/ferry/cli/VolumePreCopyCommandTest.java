package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** {@code ferry volume start --pre-copy} asks the management endpoint for a pre-copy volume; without it, for none. */
class VolumePreCopyCommandTest {

  @Test
  void preCopyTravelsInTheStartRequestOnlyWhenAsked() throws Exception {
    List<String> bodies = new CopyOnWriteArrayList<>();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/volumes", exchange -> {
      bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      byte[] answer = "{\"volume\":{},\"backendMember\":\"a\",\"frontendMember\":\"b\"}".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(201, answer.length);
      exchange.getResponseBody().write(answer);
      exchange.close();
    });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort();
      CliRun warm = CliRun.of("volume", "start", "v1", "--source-site", "edge-a", "--path", "/images/v1.img", "--target-site", "cloud", "--pre-copy", "--url", url);
      assertEquals(0, warm.exit(), warm::toString);
      CliRun cold = CliRun.of("volume", "start", "v2", "--source-site", "edge-a", "--path", "/images/v2.img", "--target-site", "cloud", "--url", url);
      assertEquals(0, cold.exit(), cold::toString);
    } finally {
      server.stop(0);
    }
    assertEquals(2, bodies.size(), bodies::toString);
    assertTrue(bodies.get(0).contains("\"preCopy\":true"), bodies.get(0));
    assertFalse(bodies.get(1).contains("preCopy"), bodies.get(1));
  }
}
