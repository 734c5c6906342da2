package io.ferry.bench;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.connectors.mqtt.EmbeddedMqttBroker;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.Schema;
import io.ferry.runtime.LocalCluster;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * MQTT ingest on one edge member: a device publishes at QoS 1 as fast as it can to the member's
 * embedded broker, and an MQTT source persists each message in its journal (H2) before it
 * acknowledges it. The figure is messages per second acknowledged by the source (persisted, then
 * PUBACKed), measured until the source has taken them all. Run: {@code ./ferry bench-mqtt}.
 */
public final class MqttBench {
  private static final Schema READINGS =
      Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("ts", FieldType.TIMESTAMP));

  /** QoS-1 publishes a device has unacknowledged at once: a gateway's window, well inside the broker's session queue. */
  static final int DEVICE_IN_FLIGHT_MAX = 200;

  private MqttBench() {}

  public static void main(String[] args) throws Exception {
    long messages = args.length > 0 ? Long.parseLong(args[0]) : 50_000;
    Path base = Files.createTempDirectory("ferry-bench-mqtt");
    System.out.printf("ferry MQTT ingest benchmark: %d messages at QoS 1, one edge member, embedded broker, H2 journal in %s%n", messages, base);
    run(base.resolve("warmup"), Math.max(2_000, messages / 10));
    double seconds = run(base.resolve("run"), messages);
    System.out.printf("mqtt ingest  messages=%d  %.2f s  %,.0f messages/s acknowledged after journaling%n", messages, seconds, messages / seconds);
  }

  /** Seconds from the first publish until the source has persisted every message. */
  static double run(Path dir, long messages) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (EmbeddedMqttBroker broker = EmbeddedMqttBroker.start("127.0.0.1", port, 1 << 20);
        LocalCluster cluster = LocalCluster.start(dir, Map.of("edge-a", "edge"), ConfigFactory.parseString("pekko.loglevel = WARNING"), Duration.ofSeconds(60))) {
      Ferry ferry = cluster.any().ferry();
      Deployment d = ferry.deploy(
              Query.named("mqtt-bench")
                  .add("src", new OperatorSpec.ReadMqtt(broker.uri(), "bench/readings", 1, READINGS, messages, null, null, 0))
                  .filter("none", "src", Predicate.field("value", Predicate.Op.LT, 0L))
                  .collect("out", "none")
                  .build(),
              Placement.builder().place("edge-a", "src", "none", "out").build())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      String client = "ferry-" + d.query().value() + "-src";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!broker.connectedClients().contains(client)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the source did not subscribe within 60 s");
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
      MqttAsyncClient device = new MqttAsyncClient(broker.uri(), "bench-device", new MemoryPersistence());
      MqttConnectOptions o = new MqttConnectOptions();
      o.setMaxInflight(DEVICE_IN_FLIGHT_MAX);
      device.connect(o).waitForCompletion(10_000);
      long start = System.nanoTime();
      Thread publisher = new Thread(() -> {
        try {
          for (long i = 0; i < messages; i++) {
            byte[] payload = ("{\"key\":\"k" + (i % 16) + "\",\"value\":" + (i % 1000) + ",\"ts\":" + (1_700_000_000_000L + i) + ",\"seq\":" + i + "}")
                .getBytes(StandardCharsets.UTF_8);
            while (true) {
              try {
                device.publish("bench/readings", payload, 1, false);
                break;
              } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
                if (e.getReasonCode() != org.eclipse.paho.client.mqttv3.MqttException.REASON_CODE_MAX_INFLIGHT) {
                  throw e;
                }
                Thread.onSpinWait();
              }
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, "bench-device");
      publisher.start();
      NodeId src = new NodeId("src");
      deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (ferry.nodeStatus(d.query(), src).toCompletableFuture().get(30, TimeUnit.SECONDS).outputAnchor() < messages) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the source did not take " + messages + " messages within 10 minutes");
        }
        TimeUnit.MILLISECONDS.sleep(10);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      publisher.join();
      device.disconnect().waitForCompletion(5_000);
      device.close();
      return seconds;
    }
  }
}
