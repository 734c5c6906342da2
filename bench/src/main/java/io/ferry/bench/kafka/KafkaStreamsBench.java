package io.ferry.bench.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.Ferry;
import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.query.Field;
import io.ferry.query.FieldType;
import io.ferry.query.NodeId;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import io.ferry.query.ops.GeneratorReader;
import io.ferry.query.ops.JsonRows;
import io.ferry.runtime.LocalCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * Kafka → filter → 1 s tumbling window (count, sum) → Kafka, once only, on one broker and the same
 * input topic: Ferry (a one-member cluster, Kafka source, transactional Kafka sink, every batch
 * journaled on H2) beside Kafka Streams with {@code exactly_once_v2}. Each run's time is from its
 * start until its whole input is consumed and the results of it committed: Ferry's sink has taken
 * the window's final batch; Kafka Streams' group has committed the input's end offset (with EOS,
 * in the same transaction as the results). Needs a running broker ({@code scripts/kafka start}).
 *
 * <p>Run: {@code mvn -B -Pbench -pl bench -am package -DskipTests}, then {@code java -cp
 * "bench/target/ferry-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)"
 * io.ferry.bench.kafka.KafkaStreamsBench 127.0.0.1:9092 500000}.
 */
public final class KafkaStreamsBench {
  private static final Schema READINGS =
      Schema.of(Field.of("key", FieldType.STRING), Field.of("value", FieldType.LONG), Field.of("ts", FieldType.TIMESTAMP));
  private static final ObjectMapper JSON = new ObjectMapper();

  private KafkaStreamsBench() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
    long rows = args.length > 1 ? Long.parseLong(args[1]) : 500_000;
    int cores = Runtime.getRuntime().availableProcessors();
    String run = Long.toHexString(System.nanoTime());
    String in = "bench-in-" + run;
    try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.createTopics(List.of(new NewTopic(in, 1, (short) 1), new NewTopic("bench-ferry-" + run, 1, (short) 1),
          new NewTopic("bench-ks-" + run, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
    }
    produce(bootstrap, in, rows);
    System.out.printf("kafka pipeline benchmark: %d rows in %s (1 partition), %d cores, broker %s%n", rows, in, cores, bootstrap);
    double ks = kafkaStreams(bootstrap, in, "bench-ks-" + run, run, rows);
    System.out.printf("kafka-streams exactly_once_v2  %.2f s  %,.0f rows/s  %,.0f rows/s per core%n", ks, rows / ks, rows / ks / cores);
    double ferry = ferry(bootstrap, in, "bench-ferry-" + run, rows);
    System.out.printf("ferry once-only (H2 journal)  %.2f s  %,.0f rows/s  %,.0f rows/s per core%n", ferry, rows / ferry, rows / ferry / cores);
    System.out.printf("ratio ferry / kafka-streams: %.2f%n", ks / ferry);
  }

  private static void produce(String bootstrap, String topic, long rows) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
    JsonRows json = new JsonRows(READINGS);
    try (GeneratorReader gen = new GeneratorReader(new OperatorSpec.Generate(11, 16, rows, 1_700_000_000_000L, 2, 0, 0));
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (long i = 0; i < rows; i += 10_000) {
        for (Row r : gen.read(i, (int) Math.min(10_000, rows - i)).rows()) {
          Row slim = Row.of(r.get(0), r.get(1), r.get(2));
          producer.send(new ProducerRecord<>(topic, ((String) r.get(0)).getBytes(StandardCharsets.UTF_8), json.encode(slim)));
        }
      }
      producer.flush();
    }
  }

  private static double kafkaStreams(String bootstrap, String in, String out, String run, long rows) throws Exception {
    String app = "bench-ks-" + run;
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("ks-state").toString());
    p.put("consumer.auto.offset.reset", "earliest");
    StreamsBuilder b = new StreamsBuilder();
    b.stream(in, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .mapValues(KafkaStreamsBench::parse)
        .filter((k, v) -> v != null && v.path("value").asLong() >= 100)
        // the input is keyed by the key field already: no repartition topic
        .mapValues(v -> v.path("value").asLong())
        .groupByKey(Grouped.with(Serdes.String(), Serdes.Long()))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(1), Duration.ofMillis(200)))
        .aggregate(() -> "0,0", (k, v, acc) -> {
          int c = acc.indexOf(',');
          return (Long.parseLong(acc.substring(0, c)) + 1) + "," + (Long.parseLong(acc.substring(c + 1)) + v);
        }, Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .map((w, agg) -> KeyValue.pair(w.key(), w.key() + "," + w.window().start() + "," + agg))
        .to(out, Produced.with(Serdes.String(), Serdes.String()));
    long start = System.nanoTime();
    try (KafkaStreams streams = new KafkaStreams(b.build(), p);
        Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      streams.start();
      TopicPartition tp = new TopicPartition(in, 0);
      while (true) {
        OffsetAndMetadata o = admin.listConsumerGroupOffsets(app).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).get(tp);
        if (o != null && o.offset() >= rows) {
          return (System.nanoTime() - start) / 1e9;
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
    }
  }

  private static JsonNode parse(byte[] v) {
    try {
      return JSON.readTree(v);
    } catch (Exception e) {
      return null;
    }
  }

  private static double ferry(String bootstrap, String in, String out, long rows) throws Exception {
    Path dir = Files.createTempDirectory("ferry-kafka-bench");
    try (LocalCluster cluster =
        LocalCluster.start(dir, Map.of("cloud", "cloud"), ConfigFactory.parseString("pekko.loglevel = WARNING"), Duration.ofSeconds(60))) {
      Ferry f = cluster.any().ferry();
      long start = System.nanoTime();
      Deployment d = f.deploy(
              Query.named("kafka-bench")
                  .add("src", new OperatorSpec.ReadKafka(bootstrap, in, READINGS, rows, Map.of()))
                  .filter("big", "src", Predicate.field("value", Predicate.Op.GE, 100L))
                  .window("window", "big",
                      Query.tumbling("key", "ts", Duration.ofSeconds(1)).allowedLateness(Duration.ofMillis(200)).count("n").sum("value", "total"))
                  .add("sink", new OperatorSpec.WriteKafka(bootstrap, out, "key", Map.of()), "window")
                  .build(),
              Placement.builder().place("cloud", "src", "big", "window", "sink").build())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      NodeId sink = new NodeId("sink");
      while (!f.nodeStatus(d.query(), sink).toCompletableFuture().get(30, TimeUnit.SECONDS).done()) {
        TimeUnit.MILLISECONDS.sleep(20);
      }
      return (System.nanoTime() - start) / 1e9;
    }
  }
}
