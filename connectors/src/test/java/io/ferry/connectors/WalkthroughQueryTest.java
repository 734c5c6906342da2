package io.ferry.connectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The README's "Kafka and MQTT" query file binds the way POST /queries binds it, and compiles. */
class WalkthroughQueryTest {
  record DeployRequest(QueryGraph graph, Map<String, String> placement) {}

  @Test
  void theWalkthroughQueryIsAValidDeployRequest() throws Exception {
    Path file = Path.of("..", "config", "local", "mqtt-to-kafka.json");
    DeployRequest r = JsonMapper.builder()
        .addModule(new Jdk8Module())
        .enable(DeserializationFeature.USE_LONG_FOR_INTS)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .build()
        .readValue(Files.readString(file), DeployRequest.class);
    List<NodeSpec> specs = r.graph().compile();
    assertEquals(5, specs.size());
    assertTrue(specs.stream().anyMatch(s -> s.op() instanceof OperatorSpec.ReadMqtt m && m.qos() == 2));
    assertTrue(specs.stream().anyMatch(s -> s.op() instanceof OperatorSpec.WriteKafka k && k.topic().equals("windows")));
    assertEquals("cloud", r.placement().get("sink"));
    assertEquals(OperatorSpec.ReadMqtt.PAYLOAD_BYTES_MAX_DEFAULT,
        ((OperatorSpec.ReadMqtt) specs.stream().filter(s -> s.id().value().equals("src-a")).findFirst().orElseThrow().op()).payloadBytesMax());
  }
}
