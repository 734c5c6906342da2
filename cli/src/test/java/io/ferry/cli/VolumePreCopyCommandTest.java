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

  @Test
  void statusPrintsTheModePassesPauseAndWhyWritesBlock() throws Exception {
    String json = "{\"spec\":{\"sourceSite\":\"edge-a\",\"sourcePath\":\"/i.img\",\"targetSite\":\"cloud\"},\"phase\":\"COPIED\",\"nbdUrl\":\"nbd://e:1/v1\","
        + "\"frontendMember\":\"pekko://ferry@127.0.0.1:2\",\"backendMember\":\"pekko://ferry@127.0.0.1:1\","
        + "\"preCopy\":{\"sourceNbdUrl\":\"nbd://e:1/v1\",\"phase\":\"CONVERGING\",\"mode\":\"WRITE_BLOCKING\",\"writeBlockingReason\":\"writes outpace the link\","
        + "\"passes\":[{\"pass\":0,\"changedBlocks\":-1,\"millis\":0},{\"pass\":1,\"changedBlocks\":40,\"millis\":900},{\"pass\":2,\"changedBlocks\":44,\"millis\":950,\"writeBlocking\":true}],"
        + "\"changedBlocksNow\":3,\"pauseMillis\":-1,\"writesAcknowledged\":100,\"writesMirrored\":7,\"writesRefused\":0,\"recopy\":\"\",\"error\":\"\"}}";
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/volumes/v1", exchange -> {
      byte[] answer = json.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, answer.length);
      exchange.getResponseBody().write(answer);
      exchange.close();
    });
    server.start();
    CliRun run;
    try {
      run = CliRun.of("volume", "status", "v1", "--url", "http://127.0.0.1:" + server.getAddress().getPort());
    } finally {
      server.stop(0);
    }
    assertEquals(0, run.exit(), run::toString);
    String out = run.out();
    assertTrue(out.contains("pre-copy  CONVERGING, write-blocking, the workload writes at nbd://e:1/v1, change set now 3 blocks"), out);
    assertTrue(out.contains("pass 1: 40 blocks in 900 ms"), out);
    assertTrue(out.contains("pass 2: 44 blocks in 950 ms, write-blocking"), out);
    assertTrue(out.contains("writeBlockingReason: writes outpace the link"), out);
    assertFalse(out.contains("cut-over pause"), "no pause before the cut-over: " + out);
  }
}
