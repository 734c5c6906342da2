package io.ferry.connectors.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.query.ops.GeneratorReader;
import io.ferry.query.ops.JsonRows;
import io.ferry.query.ops.SourceReader;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.connectors.SharedKafka;
import io.ferry.testkit.KafkaServer;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample pipeline Kafka → filter → window → Kafka on a real broker (the module's shared one)
 * and a two-site cluster, while rows are still being produced: the source, the window and the sink
 * are moved, and then the member hosting the window and the sink is crashed and replaced. The
 * output topic read with read_committed must equal the reference run over the same input topic.
 */
@ExtendWith(SeedExtension.class)
public class KafkaPipelineIT {

  private static final long ROWS = 24_000;
  private static final long PRODUCE_PER_SECOND = 3_000;
  /** What the source reads of the generator's JSON: its owner field stays in Kafka. */
  static final Schema READINGS =
      Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("ts", FieldType.TIMESTAMP));

  /** The module's shared broker; the broker-kill test starts its own. */
  private static KafkaServer kafka;

  @TempDir Path dir;

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = SharedKafka.get();
  }

  @Test
  void movesAndACrashLeaveTheCommittedTopicEqualToTheReference(Seed seed) throws Exception {
    String in = "in-" + Long.toHexString(seed.value());
    String out = "out-" + Long.toHexString(seed.value());
    createTopics(Map.of(in, 1, out, 1));
    OperatorSpec.Generate input = new OperatorSpec.Generate(seed.value(), 16, ROWS, 1_700_000_000_000L, 2, 300, 0);
    String query = "kafka-" + Long.toHexString(seed.value());
    QueryGraph graph = pipeline(query, new OperatorSpec.ReadKafka(kafka.bootstrap(), in, READINGS, ROWS, Map.of()), out);
    Placement placement = Placement.builder().place("edge-a", "src", "big").place("cloud", "window", "sink").build();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    // a third member, so the survivors keep a majority when edge-a's member crashes
    sites.put("edge-b", "edge");

    // A third of the input before the deploy, a third while the nodes move, the last third only after
    // the crash: every move and the crash land before the source has read everything.
    long third = ROWS / 3;
    produce(in, input, 0, third);
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, placement).toCompletableFuture().get(30, TimeUnit.SECONDS);
      String q = d.query().value();
      CompletableFuture<Void> producing = CompletableFuture.runAsync(() -> produce(in, input, third, 2 * third));
      move(cluster, q, "src", "cloud");
      move(cluster, q, "window", "edge-a");
      move(cluster, q, "sink", "edge-a");
      producing.get(120, TimeUnit.SECONDS);
      FerryNode victim = cluster.member("edge-a");
      victim.crash();
      cluster.startMember("edge-a", "edge");
      produce(in, input, 2 * third, ROWS);

      NodeSpec sink = graph.compile().stream().filter(s -> s.id().value().equals("sink")).findFirst().orElseThrow();
      // The reference reads the generator itself: what the Kafka source delivers is checked too.
      List<Row> expected = ReferenceRun.run(pipeline(query, input, out), 1_000_000).get(new NodeId("sink"));
      assertTrue(expected.size() > 100, "the reference has window results: " + expected.size());
      List<Row> actual = readCommitted(out, new JsonRows(sink.inputSchema()), expected.size(), Duration.ofSeconds(180));
      OnceOnlyChecker.Verdict verdict = OnceOnlyChecker.check(expected, actual, r -> r.get(0));
      assertTrue(verdict.ok(), verdict::toString);
      assertEquals(expected.size(), actual.size());
    }
  }

  /**
   * Bad input at a Kafka source is a clear error naming where it is, never a silent skip: a record
   * that is not a row of the schema (its partition and offset named, the rows before it read), and
   * a topic that does not exist (not auto-created by the source's lookup).
   */
  @Test
  void aMalformedRecordOrAnUnknownTopicIsAClearError(Seed seed) throws Exception {
    String topic = "bad-" + Long.toHexString(seed.value());
    createTopics(Map.of(topic, 1));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (String v : List.of("{\"key\":\"k\",\"value\":1,\"ts\":1700000000000}", "{\"key\":\"k\",\"value\":\"one\",\"ts\":1700000000001}")) {
        producer.send(new ProducerRecord<>(topic, v.getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
      }
    }
    List<Row> read = new ArrayList<>();
    IllegalArgumentException bad;
    try (KafkaSourceReader reader = new KafkaSourceReader(new OperatorSpec.ReadKafka(kafka.bootstrap(), topic, READINGS, -1, Map.of()))) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      bad = assertThrows(IllegalArgumentException.class, () -> {
        long anchor = 0;
        while (System.nanoTime() < deadline) {
          SourceReader.Read r = reader.read(anchor, 100);
          read.addAll(r.rows());
          reader.apply(r.delta());
          anchor = r.next();
        }
      });
    }
    assertTrue(bad.getMessage().contains("partition 0 offset 1") && bad.getMessage().contains("field 'value'"), bad.getMessage());
    assertTrue(read.size() <= 1, "nothing after the bad record is read: " + read);

    String missing = "no-such-topic-" + Long.toHexString(seed.value());
    try (KafkaSourceReader reader = new KafkaSourceReader(new OperatorSpec.ReadKafka(kafka.bootstrap(), missing, READINGS, -1, Map.of()))) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> reader.read(0, 100));
      assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("does it exist"), e.getMessage());
    }
  }

  /**
   * Three input partitions read by one source, a sink writing two: the source moves mid-stream and
   * the broker is killed (SIGKILL) and restarted with its data while the query runs. Per key (one
   * partition each way) the order is the reference's.
   */
  @Test
  @Tag("soak")
  void aBrokerKillAndASourceMoveOverThreePartitionsLoseAndRepeatNothing(Seed seed) throws Exception {
    long rows = 9_000;
    try (KafkaServer own = KafkaServer.startOnFreePort(dir.resolve("kafka"))) {
      brokerKill(seed, own, rows);
    }
  }

  private void brokerKill(Seed seed, KafkaServer kafka, long rows) throws Exception {
    String in = "in3-" + Long.toHexString(seed.value());
    String out = "out2-" + Long.toHexString(seed.value());
    createTopics(kafka.bootstrap(), Map.of(in, 3, out, 2));
    OperatorSpec.Generate input = new OperatorSpec.Generate(seed.value(), 16, rows, 1_700_000_000_000L, 2, 0, 0);
    String query = "kafka3-" + Long.toHexString(seed.value());
    QueryGraph graph = filtered(kafka.bootstrap(), query, new OperatorSpec.ReadKafka(kafka.bootstrap(), in, READINGS, rows, Map.of()), out);
    Placement placement = Placement.builder().place("edge-a", "src", "big", "slim").place("cloud", "sink").build();
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    long third = rows / 3;
    produce(kafka.bootstrap(), in, input, 0, third);
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      Deployment d = cluster.any().ferry().deploy(graph, placement).toCompletableFuture().get(30, TimeUnit.SECONDS);
      CompletableFuture<Void> producing = CompletableFuture.runAsync(() -> produce(kafka.bootstrap(), in, input, third, 2 * third));
      move(cluster, d.query().value(), "src", "cloud");
      producing.get(120, TimeUnit.SECONDS);
      kafka.kill();
      TimeUnit.SECONDS.sleep(1);
      kafka.start();
      produce(kafka.bootstrap(), in, input, 2 * third, rows);

      NodeSpec sink = graph.compile().stream().filter(s -> s.id().value().equals("sink")).findFirst().orElseThrow();
      List<Row> expected = ReferenceRun.run(filtered(kafka.bootstrap(), query, input, out), 1_000_000).get(new NodeId("sink"));
      List<Row> actual = readCommitted(kafka.bootstrap(), out, new JsonRows(sink.inputSchema()), expected.size(), Duration.ofSeconds(180));
      OnceOnlyChecker.Verdict verdict = OnceOnlyChecker.check(expected, actual, r -> r.get(0));
      assertTrue(verdict.ok(), verdict::toString);
      assertEquals(expected.size(), actual.size());
    }
  }

  private static QueryGraph filtered(String bootstrap, String query, OperatorSpec source, String out) {
    return Query.named(query)
        .add("src", source)
        .filter("big", "src", Predicate.field("value", Predicate.Op.GE, 500L))
        .project("slim", "big", Query.project().keep("key", "value", "ts"))
        .add("sink", new OperatorSpec.WriteKafka(bootstrap, out, "key", Map.of()), "slim")
        .build();
  }

  private static QueryGraph pipeline(String query, OperatorSpec source, String out) {
    return Query.named(query)
        .add("src", source)
        .filter("big", "src", Predicate.field("value", Predicate.Op.GE, 100L))
        .window("window", "big",
            Query.tumbling("key", "ts", Duration.ofSeconds(1)).allowedLateness(Duration.ofMillis(200)).count("n").sum("value", "total"))
        .add("sink", new OperatorSpec.WriteKafka(kafka.bootstrap(), out, "key", Map.of()), "window")
        .build();
  }

  private static void move(LocalCluster cluster, String query, String node, String site) throws Exception {
    MigrationReport r = cluster.any().ferry().migrate(MigrationInstruction.of(query, List.of(node), site)).toCompletableFuture().get(120, TimeUnit.SECONDS);
    assertEquals(MigrationReport.Outcome.COMPLETED, r.outcome(), r::toString);
  }

  private static void createTopics(Map<String, Integer> topics) throws Exception {
    createTopics(kafka.bootstrap(), topics);
  }

  public static void createTopics(String bootstrap, Map<String, Integer> topics) throws Exception {
    try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      List<NewTopic> t = new ArrayList<>();
      topics.forEach((name, partitions) -> t.add(new NewTopic(name, partitions, (short) 1)));
      admin.createTopics(t).all().get(60, TimeUnit.SECONDS);
    }
  }

  /** Writes the generator's rows {@code [from, to)} as JSON at a steady pace, so the pipeline runs while the test moves nodes. */
  private static void produce(String topic, OperatorSpec.Generate spec, long from, long to) {
    produce(kafka.bootstrap(), topic, spec, from, to);
  }

  private static void produce(String bootstrap, String topic, OperatorSpec.Generate spec, long from, long to) {
    JsonRows json = new JsonRows(OperatorSpec.Generate.SCHEMA);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    try (GeneratorReader gen = new GeneratorReader(spec);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      long start = System.nanoTime();
      long sent = from;
      while (sent < to) {
        long due = from + (long) ((System.nanoTime() - start) / 1e9 * PRODUCE_PER_SECOND);
        if (due <= sent) {
          TimeUnit.MILLISECONDS.sleep(10);
          continue;
        }
        for (Row r : gen.read(sent, (int) Math.min(due - sent, to - sent)).rows()) {
          producer.send(new ProducerRecord<>(topic, ((String) r.get(0)).getBytes(StandardCharsets.UTF_8), json.encode(r)));
          sent++;
        }
      }
      producer.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Reads the topic from the start with read_committed until {@code want} rows came, then a while longer for any extra. */
  static List<Row> readCommitted(String topic, JsonRows json, int want, Duration timeout) {
    return readCommitted(kafka.bootstrap(), topic, json, want, timeout);
  }

  public static List<Row> readCommitted(String bootstrap, String topic, JsonRows json, int want, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<Row> rows = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + timeout.toNanos();
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          rows.add(json.decode(r.value()));
        }
        if (rows.size() >= want && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        }
      }
    }
    return rows;
  }
}
