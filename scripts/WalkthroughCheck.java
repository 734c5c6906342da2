import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.ops.JsonRows;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The once-only check of scripts/walkthrough-mqtt-kafka: the reference run of the submitted query
 * with each MQTT source replaced by the readings its device logged as acknowledged (PUBACKed), against
 * the sink's Kafka topic read with read_committed. Arguments: QUERY_JSON PUBLISH_LOG_DIR TIMEOUT_SECONDS.
 * A source on topic {@code sensors/a} reads {@code PUBLISH_LOG_DIR/sensors-a.jsonl}. Exit 0 when
 * the topic equals the reference, 1 otherwise.
 */
public final class WalkthroughCheck {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: WalkthroughCheck QUERY_JSON PUBLISH_LOG_DIR TIMEOUT_SECONDS");
      System.exit(2);
    }
    JsonMapper mapper = JsonMapper.builder().addModule(new Jdk8Module()).enable(DeserializationFeature.USE_LONG_FOR_INTS).build();
    JsonNode body = mapper.readTree(Files.readString(Path.of(args[0])));
    QueryGraph live = mapper.treeToValue(body.get("graph"), QueryGraph.class);
    List<NodeDef> nodes = new ArrayList<>();
    OperatorSpec.WriteKafka sinkOp = null;
    NodeId sinkId = null;
    for (NodeDef n : live.nodes()) {
      if (n.op() instanceof OperatorSpec.ReadMqtt m) {
        Path log = Path.of(args[1], m.topic().replace('/', '-') + ".jsonl");
        nodes.add(new NodeDef(n.id(), new OperatorSpec.ReadJsonLines(log.toAbsolutePath().toString(), m.schema()), n.inputs()));
      } else if (n.op() instanceof OperatorSpec.WriteKafka k) {
        sinkOp = k;
        sinkId = n.id();
        nodes.add(new NodeDef(n.id(), new OperatorSpec.Collect(), n.inputs()));
      } else {
        nodes.add(n);
      }
    }
    if (sinkOp == null) {
      throw new IllegalArgumentException(args[0] + ": no write-kafka node");
    }
    NodeId sink = sinkId;
    List<Row> expected = ReferenceRun.run(new QueryGraph(live.id(), nodes), 10_000_000).get(sink);
    NodeSpec sinkSpec = live.compile().stream().filter(s -> s.id().equals(sink)).findFirst().orElseThrow();
    List<Row> actual = readCommitted(sinkOp.bootstrap(), sinkOp.topic(), new JsonRows(sinkSpec.inputSchema()), expected.size(),
        Duration.ofSeconds(Long.parseLong(args[2])));
    OnceOnlyChecker.Verdict verdict = OnceOnlyChecker.check(expected, actual);
    System.out.println("walkthrough check: topic " + sinkOp.topic() + " read_committed " + actual.size() + " records, reference " + expected.size()
        + ": " + verdict);
    System.exit(verdict.ok() && actual.size() == expected.size() ? 0 : 1);
  }

  /** Every committed record of the topic, waiting until {@code want} have arrived and 3 s passed with no more, or the timeout. */
  private static List<Row> readCommitted(String bootstrap, String topic, JsonRows json, int want, Duration timeout) {
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
          if (rows.size() >= want) {
            quietUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
          }
        }
        if (rows.size() >= want && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        }
      }
    }
    return rows;
  }
}
