package io.ferry.connectors.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.ops.SourceReader;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A source instance that read messages but died before its batch was persisted must not have
 * acknowledged them: the node's next instance (same client id, same broker session) gets every one
 * of them again. Against Moquette 0.17 with Paho devices publishing at QoS 1 and at QoS 2 — the QoS-2
 * case is the one that lost messages while the source subscribed at QoS 2 (Paho sends PUBREC on
 * arrival, the broker then only resends PUBREL, which a new client completes without delivering).
 */
class MqttSourceRedeliveryIT {
  private static final int MESSAGES = 200;

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void messagesReadButNotPersistedReachTheNextInstance(int deviceQos) throws Exception {
    try (EmbeddedMqttBroker broker = EmbeddedMqttBroker.start("127.0.0.1", MqttPipelineIT.freePort(), 1 << 20)) {
      OperatorSpec.ReadMqtt spec = new OperatorSpec.ReadMqtt(broker.uri(), "sensors/x", deviceQos, MqttPipelineIT.READINGS, -1, null, null, 0);
      NodeSpec node = new NodeSpec(new QueryId("redelivery-" + deviceQos), new NodeId("src"), spec, List.of(), List.of(new NodeId("w")), null,
          MqttPipelineIT.READINGS);

      // the first instance subscribes (creating the session) and reads what arrives, never persisting it
      int readByFirst = 0;
      SourceReader first = new MqttSourceReader(node, spec);
      try {
        first.read(0, 1);
        publish(broker, "sensors/x", deviceQos);
        // for two seconds at least: as much as the broker's in-flight window lets through unacknowledged
        long atLeastUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (readByFirst == 0 || System.nanoTime() < atLeastUntil) {
          assertTrue(System.nanoTime() < deadline, "the first instance received nothing");
          readByFirst += first.read(readByFirst, 1_000).rows().size();
          TimeUnit.MILLISECONDS.sleep(20);
        }
      } finally {
        first.close();
      }
      assertTrue(readByFirst > 0, "the first instance read messages before it died");

      // the next instance persists (applies) every batch; it must see all messages, each once
      SourceReader next = new MqttSourceReader(node, spec);
      Set<Long> values = new HashSet<>();
      long anchor = 0;
      try {
        next.restore(null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (values.size() < MESSAGES) {
          assertTrue(System.nanoTime() < deadline,
              "QoS " + deviceQos + ": " + values.size() + " of " + MESSAGES + " messages reached the next instance (the first read " + readByFirst + ")");
          SourceReader.Read r = next.read(anchor, 1_000);
          for (Row row : r.rows()) {
            assertTrue(values.add((Long) row.get(1)), "message " + row + " delivered twice");
          }
          anchor = r.next();
          next.apply(r.delta());
          next.persisted(r.delta());
          TimeUnit.MILLISECONDS.sleep(20);
        }
        assertEquals(MESSAGES, anchor, "every message persisted once");
      } finally {
        next.close();
      }
    }
  }

  /** Each message's value is its sequence number, so the payloads differ. */
  private static void publish(EmbeddedMqttBroker broker, String topic, int qos) throws Exception {
    MqttClient c = new MqttClient(broker.uri(), "device-" + qos, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMaxInflight(MESSAGES);
    c.connect(o);
    for (int i = 0; i < MESSAGES; i++) {
      String body = "{\"key\":\"k\",\"value\":" + i + ",\"ts\":" + (1_700_000_000_000L + i) + "}";
      c.publish(topic, body.getBytes(StandardCharsets.UTF_8), qos, false);
    }
    c.disconnect();
    c.close();
  }

  /**
   * Moquette 0.17 numbers packets per TCP connection but keeps the in-flight window per session:
   * a subscriber that left three messages un-PUBACKed (packet ids 1–3) and comes back finds the
   * five messages queued meanwhile sent under ids 1–5 again, and without {@link InflightIdGuard}
   * the first three are replaced in the window and never delivered (this test then sees 5 of 8).
   * The guard queues them again under fresh ids.
   */
  @Test
  void aResumedSessionGetsEveryUnacknowledgedMessageWhenPacketIdsAreReused() throws Exception {
    try (EmbeddedMqttBroker broker = EmbeddedMqttBroker.start("127.0.0.1", MqttPipelineIT.freePort(), 1 << 20)) {
      Set<String> first = ConcurrentHashMap.newKeySet();
      MqttClient s1 = subscriber(broker, first, false);
      s1.subscribe("t", 1);
      MqttClient device = new MqttClient(broker.uri(), "device", new MemoryPersistence());
      device.connect();
      for (int i = 0; i < 3; i++) {
        device.publish("t", ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false);
      }
      awaitSize(first, 3, "the first connection received the first three");
      s1.disconnect(); // nothing PUBACKed: ids 1-3 stay in the session's in-flight window
      s1.close();
      for (int i = 3; i < 8; i++) {
        device.publish("t", ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false); // queued: nobody connected
      }
      device.disconnect();
      device.close();

      Set<String> second = ConcurrentHashMap.newKeySet();
      MqttClient s2 = subscriber(broker, second, true);
      try {
        awaitSize(second, 8, "the resumed session received every message");
        assertTrue(broker.requeuedInflight() >= 1, "the reused ids were caught: " + broker.requeuedInflight());
      } finally {
        s2.disconnect();
        s2.close();
      }
    }
  }

  /** A persistent-session subscriber with manual acks that PUBACKs what it receives only if {@code ack}. */
  private static MqttClient subscriber(EmbeddedMqttBroker broker, Set<String> received, boolean ack) throws Exception {
    MqttClient c = new MqttClient(broker.uri(), "subscriber", new MemoryPersistence());
    ExecutorService acks = Executors.newSingleThreadExecutor();
    c.setManualAcks(true);
    c.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {
        acks.shutdown();
      }

      @Override
      public void messageArrived(String topic, MqttMessage m) {
        received.add(new String(m.getPayload(), StandardCharsets.UTF_8));
        if (ack) {
          acks.execute(() -> {
            try {
              c.messageArrivedComplete(m.getId(), m.getQos());
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          });
        }
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {}
    });
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(false);
    c.connect(o);
    return c;
  }

  private static void awaitSize(Set<String> received, int n, String what) throws InterruptedException {
    // Moquette resends an in-flight window after 5 s: 15 s covers that twice
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (received.size() < n) {
      assertTrue(System.nanoTime() < deadline, what + ": got " + received.size() + " of " + n + " " + new java.util.TreeSet<>(received));
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }
}
