package io.ferry.connectors.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.connectors.kafka.KafkaPipelineIT;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.query.ops.GeneratorReader;
import io.ferry.query.ops.JsonRows;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.connectors.SharedKafka;
import io.ferry.testkit.KafkaServer;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Devices publish with Paho to Moquette brokers at two edge sites; each site's readings are
 * windowed and both sites' windows go to one Kafka topic in the cloud. While devices publish, a
 * member is crashed and replaced: in the default build the one hosting both
 * MQTT sources; under -Psoak, after a source moved to the other edge site, a window to the cloud
 * and the sink to an edge site, the one hosting both sources or the one hosting a window and the
 * Kafka sink. The topic read with read_committed equals the reference run over the published rows.
 */
@ExtendWith(SeedExtension.class)
class MqttPipelineIT {

  private static final long ROWS_PER_SITE = 6_000;
  private static final long PUBLISH_PER_SECOND = 1_500;
  static final Schema READINGS =
      Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("ts", FieldType.TIMESTAMP));

  private static KafkaServer kafka;

  @TempDir Path dir;

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = SharedKafka.get();
  }

  /**
   * Both MQTT sources (QoS-1 and QoS-2 devices, each reading its own site's broker) run on edge-b,
   * which crashes while devices publish: messages received but not yet journaled must be delivered
   * again to the sources' new instances. No moves, to keep the default build short.
   */
  @Test
  void crashingTheMemberHostingBothMqttSourcesLosesAndRepeatsNothing(Seed seed) throws Exception {
    run(seed, Placement.builder().place("edge-a", "window-a", "window-b").place("edge-b", "src-a", "src-b").place("cloud", "sink").build(), false,
        "edge-b", false);
  }

  /**
   * As above, the crash landing 1 s into the second half's publishing, so the sources' new
   * instances resume sessions with messages in flight: this lost up to Moquette's in-flight window
   * until {@link InflightIdGuard} (Moquette 0.17 reused the packet ids of un-PUBACKed messages).
   */
  @Test
  @Tag("soak")
  void crashingTheMemberHostingBothMqttSourcesMidStream(Seed seed) throws Exception {
    run(seed, Placement.builder().place("edge-a", "window-a", "window-b").place("edge-b", "src-a", "src-b").place("cloud", "sink").build(), false,
        "edge-b", true);
  }

  /** After the moves edge-b hosts both MQTT sources. */
  @Test
  @Tag("soak")
  void movesThenACrashOfTheMemberHostingTheMqttSources(Seed seed) throws Exception {
    run(seed, MOVED_PLACEMENT, true, "edge-b", false);
  }

  /** After the moves edge-a hosts window-a and the Kafka sink. */
  @Test
  @Tag("soak")
  void movesThenACrashOfTheMemberHostingAWindowAndTheKafkaSink(Seed seed) throws Exception {
    run(seed, MOVED_PLACEMENT, true, "edge-a", false);
  }

  /** Where the runs with moves start: each site's source and window at its own site, the sink in the cloud. */
  private static final Placement MOVED_PLACEMENT =
      Placement.builder().place("edge-a", "src-a", "window-a").place("edge-b", "src-b", "window-b").place("cloud", "sink").build();

  private void run(Seed seed, Placement placement, boolean moves, String victimSite, boolean midStream) throws Exception {
    // one Kafka broker serves the module's ITs, whose tests may share a seed
    String out = "mqtt-out-" + Long.toHexString(seed.value()) + (moves ? "-moves-" : "-") + victimSite + (midStream ? "-mid" : "");
    KafkaPipelineIT.createTopics(kafka.bootstrap(), Map.of(out, 1));
    OperatorSpec.Generate genA = new OperatorSpec.Generate(seed.value(), 8, ROWS_PER_SITE, 1_700_000_000_000L, 2, 0, 0);
    OperatorSpec.Generate genB = new OperatorSpec.Generate(seed.value() + 1, 8, ROWS_PER_SITE, 1_700_000_000_000L, 2, 0, 0);
    try (EmbeddedMqttBroker brokerA = EmbeddedMqttBroker.start("127.0.0.1", freePort(), 1 << 20);
        EmbeddedMqttBroker brokerB = EmbeddedMqttBroker.start("127.0.0.1", freePort(), 1 << 20)) {
      String query = "mqtt-" + Long.toHexString(seed.value());
      QueryGraph graph = pipeline(query,
          new OperatorSpec.ReadMqtt(brokerA.uri(), "sensors/a", 1, READINGS, ROWS_PER_SITE, null, "dead/a", 0),
          new OperatorSpec.ReadMqtt(brokerB.uri(), "sensors/b", 2, READINGS, ROWS_PER_SITE, null, "dead/b", 0), out);
      Map<String, String> sites = new LinkedHashMap<>();
      sites.put("cloud", "cloud");
      sites.put("edge-a", "edge");
      sites.put("edge-b", "edge");
      try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
        Deployment d = cluster.any().ferry().deploy(graph, placement).toCompletableFuture().get(30, TimeUnit.SECONDS);
        String q = d.query().value();
        awaitSubscribed(brokerA, "ferry-" + q + "-src-a");
        awaitSubscribed(brokerB, "ferry-" + q + "-src-b");
        long half = ROWS_PER_SITE / 2;
        CompletableFuture<Void> a = CompletableFuture.runAsync(() -> publish(brokerA, "sensors/a", 1, genA, 0, half));
        CompletableFuture<Void> b = CompletableFuture.runAsync(() -> publish(brokerB, "sensors/b", 2, genB, 0, half));
        if (moves) {
          move(cluster, q, "src-a", "edge-b");
          move(cluster, q, "window-b", "cloud");
          move(cluster, q, "sink", "edge-a");
        }
        a.get(120, TimeUnit.SECONDS);
        b.get(120, TimeUnit.SECONDS);
        // Devices go on publishing while the victim dies.
        a = CompletableFuture.runAsync(() -> publish(brokerA, "sensors/a", 1, genA, half, ROWS_PER_SITE));
        b = CompletableFuture.runAsync(() -> publish(brokerB, "sensors/b", 2, genB, half, ROWS_PER_SITE));
        if (midStream) {
          // half-way through the second half's 2 s of publishing, with messages received and not journaled
          TimeUnit.MILLISECONDS.sleep(half * 500 / PUBLISH_PER_SECOND);
        }
        FerryNode victim = cluster.member(victimSite);
        victim.crash();
        cluster.startMember(victimSite, "edge");
        a.get(120, TimeUnit.SECONDS);
        b.get(120, TimeUnit.SECONDS);

        NodeSpec sink = graph.compile().stream().filter(s -> s.id().value().equals("sink")).findFirst().orElseThrow();
        List<Row> expected = ReferenceRun.run(pipeline(query, genA, genB, out), 1_000_000).get(new NodeId("sink"));
        assertTrue(expected.size() > 100, "the reference has window results: " + expected.size());
        List<Row> actual = KafkaPipelineIT.readCommitted(kafka.bootstrap(), out, new JsonRows(sink.inputSchema()), expected.size(), Duration.ofSeconds(180));
        OnceOnlyChecker.Verdict verdict = OnceOnlyChecker.check(expected, actual);
        if (!verdict.ok()) {
          // where each node got to, to tell a source that lost messages from a stalled window or sink
          StringBuilder nodes = new StringBuilder();
          for (io.ferry.api.NodeStatus n : cluster.any().ferry().status(d.query()).toCompletableFuture().get(30, TimeUnit.SECONDS)) {
            nodes.append("\n  ").append(n.node().value()).append(" at ").append(n.address()).append(": in ").append(n.inputAnchors())
                .append(" out ").append(n.outputAnchor()).append(n.done() ? " done" : "").append(n.pausedBy().map(m -> " paused by " + m).orElse(""));
          }
          throw new AssertionError(verdict.toString() + nodes);
        }
        assertEquals(expected.size(), actual.size());
      }
    }
  }

  /** A member configured with the embedded broker runs one for as long as it lives. */
  @Test
  void aMemberConfiguredForItRunsTheEmbeddedBroker() throws Exception {
    int port = freePort();
    ActorSystem system = ActorSystem.create("mqtt-ext", ConfigFactory.parseString(
            "pekko.actor.provider = local\nferry.connectors.mqtt.embedded-broker { enabled = on, port = " + port + " }")
        .withFallback(ConfigFactory.load()));
    try {
      assertTrue(MqttBrokerExtension.ID.get(system).broker().isPresent());
      MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, "probe", new MemoryPersistence());
      c.connect();
      c.publish("t", "{}".getBytes(StandardCharsets.UTF_8), 1, false);
      c.disconnect();
      c.close();
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      assertEquals(port, s.getLocalPort(), "the broker's port is free again once the member stopped");
    }
  }

  private static QueryGraph pipeline(String query, OperatorSpec a, OperatorSpec b, String out) {
    Query q = Query.named(query).add("src-a", a).add("src-b", b);
    for (String site : new String[] {"a", "b"}) {
      q.window("window-" + site, "src-" + site,
          Query.tumbling("key", "ts", Duration.ofSeconds(1)).allowedLateness(Duration.ofSeconds(5)).count("n").sum("value", "total").max("value", "high"));
    }
    return q.add("sink", new OperatorSpec.WriteKafka(kafka.bootstrap(), out, "key", Map.of()), "window-a", "window-b").build();
  }

  private static void move(LocalCluster cluster, String query, String node, String site) throws Exception {
    MigrationReport r = cluster.any().ferry().migrate(MigrationInstruction.of(query, List.of(node), site)).toCompletableFuture().get(120, TimeUnit.SECONDS);
    assertEquals(MigrationReport.Outcome.COMPLETED, r.outcome(), r::toString);
  }

  private static void awaitSubscribed(EmbeddedMqttBroker broker, String clientId) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!broker.connectedClients().contains(clientId)) {
      assertTrue(System.nanoTime() < deadline, clientId + " did not connect to " + broker.uri());
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  /** A device: the generator's rows {@code [from, to)} as JSON with their sequence number, paced. */
  static void publish(EmbeddedMqttBroker broker, String topic, int qos, OperatorSpec.Generate spec, long from, long to) {
    JsonRows json = new JsonRows(OperatorSpec.Generate.SCHEMA);
    try (GeneratorReader gen = new GeneratorReader(spec)) {
      MqttClient c = new MqttClient(broker.uri(), "device-" + topic.replace('/', '-') + "-" + from, new MemoryPersistence());
      MqttConnectOptions o = new MqttConnectOptions();
      o.setMaxInflight(1000);
      c.connect(o);
      long start = System.nanoTime();
      long sent = from;
      while (sent < to) {
        long due = from + (long) ((System.nanoTime() - start) / 1e9 * PUBLISH_PER_SECOND);
        if (due <= sent) {
          TimeUnit.MILLISECONDS.sleep(5);
          continue;
        }
        for (Row r : gen.read(sent, (int) Math.min(due - sent, to - sent)).rows()) {
          String body = new String(json.encode(r), StandardCharsets.UTF_8);
          // the sequence number makes every payload unique: the source's identity is its hash
          c.publish(topic, (body.substring(0, body.length() - 1) + ",\"seq\":" + sent + "}").getBytes(StandardCharsets.UTF_8), qos, false);
          sent++;
        }
      }
      c.disconnect();
      c.close();
    } catch (Exception e) {
      throw new IllegalStateException("publishing to " + topic + " failed", e);
    }
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
