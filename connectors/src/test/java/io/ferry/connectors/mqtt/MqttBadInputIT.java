package io.ferry.connectors.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.ops.SourceReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * Bad device messages never stop an MQTT source and never cost a good one: malformed JSON, a wrong
 * type and a payload over the size limit each become a dead-letter record with the reason on the
 * dead-letter topic, and the good messages around them are all read.
 */
class MqttBadInputIT {

  @Test
  void badMessagesBecomeDeadLettersWithTheirReasonAndGoodOnesAreAllRead() throws Exception {
    try (EmbeddedMqttBroker broker = EmbeddedMqttBroker.start("127.0.0.1", MqttPipelineIT.freePort(), 1 << 20)) {
      Map<String, JsonNode> deadLetters = new ConcurrentHashMap<>();
      MqttClient listener = new MqttClient(broker.uri(), "dead-letter-reader", new MemoryPersistence());
      listener.connect();
      JsonMapper json = new JsonMapper();
      listener.subscribe("dead/x", 1, (topic, m) -> {
        JsonNode record = json.readTree(m.getPayload());
        deadLetters.put(record.get("reason").asText(), record);
      });

      OperatorSpec.ReadMqtt spec = new OperatorSpec.ReadMqtt(broker.uri(), "sensors/x", 1, MqttPipelineIT.READINGS, -1, null, "dead/x", 200);
      NodeSpec node = new NodeSpec(new QueryId("bad-input"), new NodeId("src"), spec, List.of(), List.of(new NodeId("w")), null,
          MqttPipelineIT.READINGS);
      MqttSourceReader reader = new MqttSourceReader(node, spec);
      try {
        reader.restore(null);
        reader.read(0, 1); // subscribes

        MqttClient device = new MqttClient(broker.uri(), "device", new MemoryPersistence());
        device.connect();
        List<String> sent = List.of(
            "{\"key\":\"k\",\"value\":1,\"ts\":1700000000000}",
            "{\"key\":\"k\",\"value\":",                                   // malformed
            "{\"key\":\"k\",\"value\":\"two\",\"ts\":1700000000002}",         // wrong type
            "{\"key\":\"" + "x".repeat(300) + "\",\"value\":3,\"ts\":1700000000003}", // over 200 bytes
            "{\"key\":\"k\",\"value\":4,\"ts\":1700000000004}");
        for (String s : sent) {
          device.publish("sensors/x", s.getBytes(StandardCharsets.UTF_8), 1, false);
        }
        device.disconnect();
        device.close();

        List<Long> values = new ArrayList<>();
        long anchor = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (values.size() < 2 || deadLetters.size() < 3) {
          assertTrue(System.nanoTime() < deadline, "read " + values + ", dead letters " + deadLetters.keySet());
          SourceReader.Read r = reader.read(anchor, 100);
          r.rows().forEach((Row row) -> values.add((Long) row.get(1)));
          reader.apply(r.delta());
          reader.persisted(r.delta());
          anchor = r.next();
          TimeUnit.MILLISECONDS.sleep(20);
        }
        assertEquals(List.of(1L, 4L), values, "every good message, once");
        assertEquals(3, reader.deadLetters());
        assertEquals(3, deadLetters.size(), deadLetters.keySet().toString());
        assertTrue(deadLetters.keySet().stream().anyMatch(r -> r.startsWith("malformed JSON")), deadLetters.keySet().toString());
        assertTrue(deadLetters.keySet().stream().anyMatch(r -> r.contains("field 'value' is LONG")), deadLetters.keySet().toString());
        assertTrue(deadLetters.keySet().stream().anyMatch(r -> r.contains("over the limit of 200")), deadLetters.keySet().toString());
        for (JsonNode d : deadLetters.values()) {
          assertEquals("sensors/x", d.get("topic").asText());
          assertEquals("bad-input/src", d.get("source").asText());
        }
      } finally {
        reader.close();
        listener.disconnect();
        listener.close();
      }
    }
  }
}
