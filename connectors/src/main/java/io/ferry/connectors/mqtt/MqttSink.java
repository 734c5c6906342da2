package io.ferry.connectors.mqtt;

import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.JsonRows;
import io.ferry.query.ops.Operator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * Publishes a sink node's rows to MQTT at QoS 1 and waits for every PUBACK before the node
 * persists the batch: at least once. A batch replayed after a crash is published again with the
 * same {@code ferry_key} per row (query/node/upstream/anchor), by which consumers drop repeats.
 */
public final class MqttSink implements Operator {
  /** How long one batch may wait for its acknowledgements. */
  static final long PUBLISH_TIMEOUT_MS = 30_000;

  private final NodeSpec node;
  private final OperatorSpec.WriteMqtt spec;
  private final JsonRows rows;
  private final int keyIndex;
  private MqttAsyncClient client;

  public MqttSink(NodeSpec node, OperatorSpec.WriteMqtt spec) {
    this.node = node;
    this.spec = spec;
    this.rows = new JsonRows(node.inputSchema());
    this.keyIndex = spec.keyField() == null ? -1 : rows.indexOf(spec.keyField());
  }

  @Override
  public Step process(List<Row> input) {
    throw new UnsupportedOperationException("mqtt sink: needs the batch's upstream and anchor");
  }

  @Override
  public Step process(int index, NodeId upstream, long from, List<Row> input) {
    if (input.isEmpty()) {
      return Step.EMPTY;
    }
    MqttAsyncClient c = client();
    List<IMqttDeliveryToken> tokens = new ArrayList<>(input.size());
    try {
      for (int i = 0; i < input.size(); i++) {
        Row r = input.get(i);
        String topic = keyIndex < 0 || r.get(keyIndex) == null ? spec.topic() : spec.topic() + "/" + r.get(keyIndex);
        tokens.add(c.publish(topic, withKey(rows.encode(r), key(upstream, from + i)), 1, false));
      }
      for (IMqttDeliveryToken t : tokens) {
        t.waitForCompletion(PUBLISH_TIMEOUT_MS);
      }
    } catch (MqttException e) {
      throw new IllegalStateException("mqtt sink " + node.id() + ": publishing rows " + from + ".." + (from + input.size()) + " to " + spec.broker() + " failed", e);
    }
    return Step.EMPTY;
  }

  /** The same for a row however often it is published. */
  String key(NodeId upstream, long anchor) {
    return node.query().value() + "/" + node.id().value() + "/" + upstream.value() + "/" + anchor;
  }

  /** {@code {...}} becomes {@code {..., "ferry_key": key}}. */
  static byte[] withKey(byte[] json, String key) {
    String s = new String(json, StandardCharsets.UTF_8);
    String field = "\"ferry_key\":\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
    return (s.equals("{}") ? "{" + field : s.substring(0, s.length() - 1) + "," + field).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    if (client != null) {
      try {
        if (client.isConnected()) {
          client.disconnect(2_000).waitForCompletion(3_000);
        }
        client.close();
      } catch (MqttException e) {
        // closing anyway: a replayed batch is published again with the same keys
      }
      client = null;
    }
  }

  private MqttAsyncClient client() {
    if (client == null) {
      try {
        MqttAsyncClient c = new MqttAsyncClient(spec.broker(), MqttSourceReader.clientId(node) + "-out", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setAutomaticReconnect(true);
        o.setMaxInflight(4096);
        c.connect(o).waitForCompletion(PUBLISH_TIMEOUT_MS);
        client = c;
      } catch (MqttException e) {
        throw new IllegalStateException("mqtt sink " + node.id() + ": cannot connect to " + spec.broker(), e);
      }
    }
    return client;
  }
}
