package io.ferry.connectors.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Schema;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MqttSinkTest {
  private static final Schema S = Schema.of(Field.of("key", FieldType.STRING));

  @Test
  void theDedupKeyNamesTheRowsPlaceAndIsAddedToTheJsonObject() {
    NodeSpec node = new NodeSpec(new QueryId("q"), new NodeId("out"), new OperatorSpec.WriteMqtt("tcp://127.0.0.1:1", "t", null),
        List.of(new NodeId("w")), List.of(), S, S);
    MqttSink sink = new MqttSink(node, (OperatorSpec.WriteMqtt) node.op());
    assertEquals("q/out/w/41", sink.key(new NodeId("w"), 41));
    assertEquals("{\"key\":\"k\",\"ferry_key\":\"q/out/w/41\"}",
        new String(MqttSink.withKey("{\"key\":\"k\"}".getBytes(StandardCharsets.UTF_8), "q/out/w/41"), StandardCharsets.UTF_8));
    assertEquals("{\"ferry_key\":\"a\\\"b\"}", new String(MqttSink.withKey("{}".getBytes(StandardCharsets.UTF_8), "a\"b"), StandardCharsets.UTF_8));
  }

  @Test
  void aSourcesClientIdFitsMqttsLimitsAndIsStablePerNode() {
    NodeSpec longOne = new NodeSpec(new QueryId("q".repeat(60)), new NodeId("src"), new OperatorSpec.ReadMqtt("tcp://127.0.0.1:1", "t", 1, S, -1, null, null, 0),
        List.of(), List.of(new NodeId("x")), null, S);
    String id = MqttSourceReader.clientId(longOne);
    assertTrue(id.length() <= 64, id);
    assertEquals(id, MqttSourceReader.clientId(longOne));
  }
}
