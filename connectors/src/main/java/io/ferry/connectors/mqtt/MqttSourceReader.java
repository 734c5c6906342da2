package io.ferry.connectors.mqtt;

import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.JsonRows;
import io.ferry.query.ops.OperatorDelta;
import io.ferry.query.ops.OperatorState;
import io.ferry.query.ops.SourcePosition;
import io.ferry.query.ops.SourceReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An MQTT subscription as a source node's reader. Messages wait in memory, unacknowledged, until a
 * read hands them to the node; they are acknowledged to the broker (manual acks) only once the batch
 * holding them is in the node's journal ({@link #persisted}), so a crash before that makes the broker deliver them again to the
 * node's next instance (a persistent session under the node's own client id). Identities of the
 * last {@link #SEEN_MAX} persisted messages are the source's state, so a redelivery of a message
 * that was persisted but whose acknowledgement was lost is dropped.
 */
public final class MqttSourceReader implements SourceReader {
  private static final Logger log = LoggerFactory.getLogger(MqttSourceReader.class);
  /** Persisted message identities remembered for dropping redeliveries: far above any broker's in-flight window. */
  static final int SEEN_MAX = 10_000;
  /**
   * The subscription's QoS, whatever QoS devices publish at (the broker delivers at the lower of
   * the two). Not 2: in QoS 2's exchange the receiver takes the message over at PUBREC, which Paho
   * sends as soon as the PUBLISH arrives, before the node has journaled it; the broker then forgets
   * the payload and a new instance of the node (new client, same session) gets only the PUBREL,
   * which Paho answers with PUBCOMP without delivering anything: the message is lost. At QoS 1 the
   * broker keeps the message until PUBACK, which the reader sends only after the batch holding it
   * is persisted, and redeliveries are dropped by identity, so delivery into the journal is once
   * only.
   */
  static final int SUBSCRIPTION_QOS = 1;
  /** Messages received and not yet read; when full, the client's callback waits (back pressure to the broker). */
  static final int PENDING_MAX = 10_000;

  private final NodeSpec node;
  private final OperatorSpec.ReadMqtt spec;
  private final JsonRows rows;
  private final int idIndex;
  private final String clientId;
  private final BlockingQueue<Arrived> pending = new ArrayBlockingQueue<>(PENDING_MAX);
  /** Persisted identities, oldest first, each with the anchor it was persisted at. */
  private final LinkedHashMap<String, Long> seen = new LinkedHashMap<>();
  private MqttClient client;
  /**
   * Set by the client's thread when the connection drops. The reader then starts a new session
   * itself on its next read instead of letting Paho reconnect: a reconnecting client of an
   * instance that was moved away or whose member died would take the session over from the
   * node's live instance, again and again.
   */
  private volatile boolean connectionLost;
  /** What the last read returned and must acknowledge once it is persisted. */
  private SourcePosition awaiting;
  private List<Arrived> awaitingAcks = List.of();
  private long deadLetters;

  public MqttSourceReader(NodeSpec node, OperatorSpec.ReadMqtt spec) {
    this.node = node;
    this.spec = spec;
    this.rows = new JsonRows(spec.schema());
    this.idIndex = spec.idField() == null ? -1 : rows.indexOf(spec.idField());
    this.clientId = clientId(node);
  }

  /** One client id per source node: its persistent session follows the node wherever it runs. */
  static String clientId(NodeSpec node) {
    String id = "ferry-" + node.query().value() + "-" + node.id().value();
    return id.length() <= 64 ? id : id.substring(0, 48) + "-" + Integer.toHexString(id.hashCode());
  }

  @Override
  public Read read(long anchor, int max) {
    if (spec.count() >= 0 && anchor >= spec.count()) {
      return new Read(List.of(), anchor, true, null);
    }
    if (connectionLost) {
      reset();
    }
    connect();
    int want = spec.count() >= 0 ? (int) Math.min(max, spec.count() - anchor) : max;
    List<Row> out = new ArrayList<>();
    List<Arrived> acks = new ArrayList<>();
    Map<String, Long> ids = new HashMap<>();
    Arrived a;
    while (out.size() < want && (a = pending.poll()) != null) {
      acks.add(a);
      if (a.bad() != null) {
        deadLetter(a);
        continue;
      }
      if (seen.containsKey(a.identity()) || ids.containsKey(a.identity())) {
        log.debug("mqtt source {}: redelivery of {} dropped", node.id(), a.identity());
        continue;
      }
      ids.put(a.identity(), anchor + out.size());
      out.add(a.row());
    }
    if (acks.isEmpty()) {
      return new Read(List.of(), anchor, false, null);
    }
    if (out.isEmpty()) {
      ack(acks); // only redeliveries of persisted messages and dead letters: nothing to persist
      return new Read(List.of(), anchor, false, null);
    }
    long next = anchor + out.size();
    awaiting = new SourcePosition(ids);
    awaitingAcks = acks;
    return new Read(out, next, spec.count() >= 0 && next == spec.count(), awaiting);
  }

  /**
   * Remembers the batch's identities. Acknowledges nothing: Pekko applies a batch's event before
   * writing it to the journal, and a PUBACK sent here lost the batch (up to Moquette's in-flight
   * window, 10 messages) when the member died before the write — see {@link #persisted}.
   */
  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof SourcePosition p)) {
      throw new IllegalArgumentException("mqtt source: cannot apply " + delta.getClass().getSimpleName());
    }
    p.positions().entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> remember(e.getKey(), e.getValue()));
  }

  /** The batch is in the journal: its messages are acknowledged if it was this reader's last read. */
  @Override
  public void persisted(OperatorDelta delta) {
    if (delta != null && delta == awaiting) {
      ack(awaitingAcks);
      awaiting = null;
      awaitingAcks = List.of();
    }
  }

  @Override
  public OperatorState snapshot() {
    return new SourcePosition(seen);
  }

  @Override
  public void restore(OperatorState state) {
    seen.clear();
    if (state != null) {
      apply((SourcePosition) state);
    }
  }

  @Override
  public void close() {
    if (client != null) {
      try {
        if (client.isConnected()) {
          client.disconnect(2_000);
        }
      } catch (MqttException e) {
        log.debug("mqtt source {}: disconnecting failed", node.id(), e);
      }
      try {
        client.close(true);
      } catch (MqttException e) {
        log.warn("mqtt source {}: closing the client failed", node.id(), e);
      }
      client = null;
    }
  }

  /**
   * Drops the lost session's client and what it received but the node has not persisted: the
   * broker delivers those again to the new session, and message ids of the old one must not be
   * acknowledged on the new one. A batch already read is not acknowledged either; once persisted,
   * its messages' redeliveries are dropped as seen and acknowledged then.
   */
  private void reset() {
    log.warn("mqtt source {}: connection to {} lost; starting a new session", node.id(), spec.broker());
    close();
    pending.clear();
    awaiting = null;
    awaitingAcks = List.of();
    connectionLost = false;
  }

  /** Messages refused as dead letters so far. */
  public long deadLetters() {
    return deadLetters;
  }

  private void remember(String identity, long at) {
    seen.remove(identity);
    seen.put(identity, at);
    while (seen.size() > SEEN_MAX) {
      seen.remove(seen.keySet().iterator().next());
    }
  }

  private void ack(List<Arrived> acks) {
    for (Arrived a : acks) {
      try {
        client.messageArrivedComplete(a.messageId(), a.qos());
      } catch (MqttException e) {
        // the broker delivers it again to the next session: persisted ones are then dropped as seen
        log.warn("mqtt source {}: acknowledging message {} failed", node.id(), a.messageId(), e);
      }
    }
  }

  private void deadLetter(Arrived a) {
    deadLetters++;
    log.warn("mqtt source {}: message on {} refused: {}", node.id(), a.topic(), a.bad());
    if (spec.deadLetterTopic() == null) {
      return;
    }
    String payload = new String(a.payload(), 0, Math.min(a.payload().length, 1024), StandardCharsets.UTF_8);
    String record = "{\"source\":" + quote(node.query().value() + "/" + node.id().value()) + ",\"topic\":" + quote(a.topic())
        + ",\"reason\":" + quote(a.bad()) + ",\"payload\":" + quote(payload) + "}";
    try {
      client.publish(spec.deadLetterTopic(), record.getBytes(StandardCharsets.UTF_8), 1, false);
    } catch (MqttException e) {
      throw new IllegalStateException("mqtt source " + node.id() + ": publishing a dead letter to " + spec.deadLetterTopic() + " failed", e);
    }
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }

  private void connect() {
    if (client != null) {
      return;
    }
    try {
      MqttClient c = new MqttClient(spec.broker(), clientId, new MemoryPersistence());
      c.setManualAcks(true);
      c.setCallback(new MqttCallback() {
        @Override
        public void connectionLost(Throwable cause) {
          connectionLost = true;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws InterruptedException {
          Arrived a = arrived(topic, message);
          if (!pending.offer(a, 1, TimeUnit.HOURS)) {
            throw new IllegalStateException("mqtt source " + node.id() + ": nothing read for an hour");
          }
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {}
      });
      MqttConnectOptions o = new MqttConnectOptions();
      o.setCleanSession(false); // the broker keeps what this node has not acknowledged, across moves
      o.setAutomaticReconnect(false);
      o.setMaxInflight(1000);
      o.setConnectionTimeout(10);
      c.connect(o);
      c.subscribe(spec.topic(), SUBSCRIPTION_QOS);
      client = c;
      log.info("mqtt source {}: subscribed to {} on {} at QoS {} (devices publish at QoS {}) as {}", node.id(), spec.topic(), spec.broker(),
          SUBSCRIPTION_QOS, spec.qos(), clientId);
    } catch (MqttException e) {
      throw new IllegalStateException("mqtt source " + node.id() + ": cannot subscribe to " + spec.topic() + " on " + spec.broker(), e);
    }
  }

  private Arrived arrived(String topic, MqttMessage m) {
    byte[] payload = m.getPayload();
    if (payload.length > spec.payloadBytesMax()) {
      return new Arrived(topic, m.getId(), m.getQos(), null, null, new byte[0],
          "payload of " + payload.length + " bytes is over the limit of " + spec.payloadBytesMax());
    }
    Row row;
    try {
      row = rows.decode(payload);
    } catch (JsonRows.BadRow e) {
      return new Arrived(topic, m.getId(), m.getQos(), null, null, payload, e.getMessage());
    }
    String identity;
    if (idIndex >= 0 && row.get(idIndex) != null) {
      identity = topic + "|" + row.get(idIndex);
    } else {
      identity = topic + "|" + hash(payload);
    }
    return new Arrived(topic, m.getId(), m.getQos(), identity, row, payload, null);
  }

  private static String hash(byte[] payload) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(payload);
      return HexFormat.of().formatHex(d, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A received message; {@code bad} is why it is not a row, or null. */
  private record Arrived(String topic, int messageId, int qos, String identity, Row row, byte[] payload, String bad) {}
}
