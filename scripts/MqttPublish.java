import java.nio.charset.StandardCharsets;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * A device for the README's "Kafka and MQTT" walk-through (run by scripts/mqtt-publish): publishes
 * sensor readings {"key","value","ts","seq"} as JSON at QoS 1 with the Eclipse Paho client.
 * Arguments: BROKER_URI TOPIC COUNT RATE_PER_SECOND [FIRST_SEQ]. With FERRY_MQTT_PUBLISH_LOG set to a
 * file, every reading the broker acknowledged (the publish call returned after its PUBACK) is
 * appended to it as one JSON line: what scripts/WalkthroughCheck compares the pipeline's output with.
 */
public final class MqttPublish {
  public static void main(String[] args) throws Exception {
    if (args.length < 4) {
      System.err.println("usage: MqttPublish tcp://HOST:PORT TOPIC COUNT RATE_PER_SECOND [FIRST_SEQ]");
      System.exit(2);
    }
    String broker = args[0];
    String topic = args[1];
    long count = Long.parseLong(args[2]);
    long rate = Long.parseLong(args[3]);
    long first = args.length > 4 ? Long.parseLong(args[4]) : 0;
    MqttClient c = new MqttClient(broker, "device-" + topic.replace('/', '-') + "-" + ProcessHandle.current().pid(), new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setAutomaticReconnect(true);
    // Paho 1.2.5's count of QoS-1 publishes in flight can run ahead of the PUBACKs it has matched,
    // even with one synchronous publish at a time (then "Too many publishes in progress"): a wider
    // window and a retry of the same reading keep the device going; the broker's PUBACK still
    // decides what counts as acknowledged.
    o.setMaxInflight(1000);
    c.connect(o);
    String logPath = System.getenv("FERRY_MQTT_PUBLISH_LOG");
    java.io.Writer acked = logPath == null ? null
        : java.nio.file.Files.newBufferedWriter(java.nio.file.Path.of(logPath), StandardCharsets.UTF_8,
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    long start = System.nanoTime();
    for (long i = first; i < first + count; i++) {
      long due = start + (long) ((i - first) * 1e9 / rate);
      while (System.nanoTime() < due) {
        Thread.sleep(1);
      }
      String json = "{\"key\":\"k" + (i % 8) + "\",\"value\":" + (i * 37 % 1000) + ",\"ts\":" + System.currentTimeMillis() + ",\"seq\":" + i + "}";
      publish(c, topic, json);
      if (acked != null) {
        acked.write(json + "\n");
      }
      if ((i - first + 1) % 1000 == 0) {
        System.out.println(topic + ": " + (i - first + 1) + " published");
      }
    }
    if (acked != null) {
      acked.close();
    }
    c.disconnect();
    c.close();
    // Paho's threads are not daemons: end the process even if a close left one behind.
    System.exit(0);
  }

  /** Publishes at QoS 1 and returns once the broker's PUBACK arrived; retries a full in-flight window for up to 30 s. */
  private static void publish(MqttClient c, String topic, String json) throws Exception {
    long giveUp = System.nanoTime() + 30_000_000_000L;
    while (true) {
      try {
        c.publish(topic, json.getBytes(StandardCharsets.UTF_8), 1, false);
        return;
      } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
        if (e.getReasonCode() != org.eclipse.paho.client.mqttv3.MqttException.REASON_CODE_MAX_INFLIGHT || System.nanoTime() > giveUp) {
          System.err.println("device: publishing failed: " + e);
          System.exit(1);
        }
        Thread.sleep(20);
      }
    }
  }
}
