package io.ferry.connectors.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.JsonRows;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.OperatorDelta;
import io.ferry.query.ops.OperatorState;
import io.ferry.query.ops.SinkAnchors;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sink node's writer to a Kafka topic, once only. Each input batch is one Kafka transaction that
 * holds the batch's rows and, as a transactional offset commit of the sink's own consumer group,
 * the sink's input anchors after the batch. The transaction commits before the node persists the
 * batch, so after a crash or move between the two, Kafka is ahead of the journal by at most that
 * batch: the restored sink reads the anchors Kafka committed and skips the rows below them instead
 * of writing them again. Its transactional id belongs to the sink node, so the restored instance's
 * {@code initTransactions} fences the old one and aborts whatever transaction it left open.
 */
public final class KafkaSink implements Operator {
  private static final Logger log = LoggerFactory.getLogger(KafkaSink.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Kafka's default cap on offset metadata is 4096 bytes; anchors of a few upstreams fit well under it. */
  static final int METADATA_BYTES_MAX = 4000;
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

  private final NodeSpec node;
  private final OperatorSpec.WriteKafka spec;
  private final String deploymentId;
  private final JsonRows rows;
  private final int keyIndex;
  private final String transactionalId;
  private final String groupId;
  /** The partition the anchors are committed for: any partition of the sink's topic, the first one. */
  private final TopicPartition anchorPartition;

  /** The anchors persisted in the journal (applied deltas). */
  private Map<String, Long> anchors = new HashMap<>();
  /** The anchors Kafka committed, read once when the producer starts: rows below them were written already. */
  private Map<String, Long> committedInKafka;
  private KafkaProducer<byte[], byte[]> producer;

  public KafkaSink(NodeSpec node, OperatorSpec.WriteKafka spec, String deploymentId) {
    this.node = node;
    this.spec = spec;
    this.deploymentId = deploymentId;
    this.rows = new JsonRows(node.inputSchema());
    this.keyIndex = spec.keyField() == null || spec.keyField().isEmpty() ? -1 : rows.indexOf(spec.keyField());
    this.transactionalId = transactionalId(node);
    this.groupId = "ferry-sink-" + node.query().value() + "-" + node.id().value();
    this.anchorPartition = new TopicPartition(spec.topic(), 0);
  }

  /** One transactional id per sink node: its instances fence each other wherever they run. */
  static String transactionalId(NodeSpec node) {
    return "ferry-" + node.query().value() + "-" + node.id().value();
  }

  @Override
  public Step process(List<Row> input) {
    throw new UnsupportedOperationException("kafka sink: needs the batch's upstream and anchor");
  }

  @Override
  public Step process(int index, NodeId upstream, long from, List<Row> input) {
    if (input.isEmpty()) {
      return Step.EMPTY;
    }
    KafkaProducer<byte[], byte[]> p = producer();
    long next = from + input.size();
    Map<String, Long> after = new HashMap<>(anchors);
    after.put(upstream.value(), next);
    long written = committedInKafka.getOrDefault(upstream.value(), 0L);
    int skip = (int) Math.max(0, Math.min(input.size(), written - from));
    if (skip > 0) {
      log.info("kafka sink {}: rows {}..{} from {} were committed to {} before the node persisted them; not written again",
          node.id(), from, from + skip, upstream, spec.topic());
    }
    if (skip == input.size()) {
      return new Step(List.of(), new SinkAnchors(after));
    }
    try {
      p.beginTransaction();
      for (Row r : input.subList(skip, input.size())) {
        byte[] key = keyIndex < 0 || r.get(keyIndex) == null ? null : String.valueOf(r.get(keyIndex)).getBytes(StandardCharsets.UTF_8);
        p.send(new ProducerRecord<>(spec.topic(), key, rows.encode(r)));
      }
      p.sendOffsetsToTransaction(
          Map.of(anchorPartition, new OffsetAndMetadata(total(after), metadata(after))), new ConsumerGroupMetadata(groupId));
      p.commitTransaction();
    } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException fatal) {
      closeProducer();
      throw new IllegalStateException(
          "kafka sink " + node.id() + " (transactional id " + transactionalId + "): another instance took over or the producer failed for good", fatal);
    } catch (KafkaException e) {
      abortQuietly(p);
      throw new IllegalStateException("kafka sink " + node.id() + ": writing rows " + from + ".." + next + " from " + upstream + " failed", e);
    }
    return new Step(List.of(), new SinkAnchors(after));
  }

  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof SinkAnchors a)) {
      throw new IllegalArgumentException("kafka sink: cannot apply " + delta.getClass().getSimpleName());
    }
    anchors = new HashMap<>(a.anchors());
  }

  @Override
  public SinkAnchors snapshot() {
    return new SinkAnchors(anchors);
  }

  @Override
  public void restore(OperatorState state) {
    anchors = new HashMap<>();
    if (state != null) {
      apply((SinkAnchors) state);
    }
  }

  /** Fences any older instance and learns what Kafka committed, before any new input. */
  @Override
  public void recovered() {
    producer();
  }

  @Override
  public void close() {
    closeProducer();
  }

  /** The anchors the restored sink found committed in Kafka (for tests and logs). */
  Map<String, Long> committedInKafka() {
    return committedInKafka == null ? Map.of() : Map.copyOf(committedInKafka);
  }

  private KafkaProducer<byte[], byte[]> producer() {
    if (producer == null) {
      Properties props = new Properties();
      props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, spec.bootstrap());
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
      props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
      props.put(ProducerConfig.ACKS_CONFIG, "all");
      props.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
      // An open transaction of a killed member holds read_committed consumers back until the
      // node's next instance fences it or this timeout aborts it (docs/connectors.md).
      props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000");
      // initTransactions and a full buffer block the node's thread: bounded, so a broker that is
      // down fails the batch (the node restarts and retries) instead of stalling the member
      props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
      props.putAll(spec.properties());
      KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
      try {
        p.initTransactions();
        committedInKafka = readCommittedAnchors();
      } catch (RuntimeException e) {
        p.close(Duration.ZERO);
        throw e;
      }
      producer = p;
      for (Map.Entry<String, Long> e : committedInKafka.entrySet()) {
        long journal = anchors.getOrDefault(e.getKey(), 0L);
        if (e.getValue() < journal) {
          throw new IllegalStateException(
              "kafka sink " + node.id() + ": Kafka committed anchor " + e.getValue() + " for " + e.getKey() + " but the journal has "
                  + journal + ": group " + groupId + " lost offsets outside Ferry");
        }
      }
      log.info("kafka sink {}: transactional id {} ready, journal anchors {}, Kafka anchors {}", node.id(), transactionalId,
          new TreeMap<>(anchors), new TreeMap<>(committedInKafka));
    }
    return producer;
  }

  /**
   * The anchors of this deployment that Kafka committed with the sink's last transaction. {@code
   * requireStable}: a transaction still open would otherwise hide its offsets (initTransactions has
   * aborted or completed it already, so this does not wait).
   */
  private Map<String, Long> readCommittedAnchors() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, spec.bootstrap());
    spec.properties().forEach((k, v) -> {
      if (AdminClientConfig.configNames().contains(k)) {
        props.put(k, v);
      }
    });
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(groupId, new ListConsumerGroupOffsetsOptions().requireStable(true))
              .partitionsToOffsetAndMetadata()
              .get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      OffsetAndMetadata o = offsets.get(anchorPartition);
      return o == null ? Map.of() : parse(o.metadata());
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("kafka sink " + node.id() + ": reading the anchors committed for group " + groupId + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code {"deployment": id, "anchors": {upstream: anchor}}}; anchors of another deployment count as none. */
  private Map<String, Long> parse(String metadata) {
    if (metadata == null || metadata.isEmpty()) {
      return Map.of();
    }
    try {
      Committed c = JSON.readValue(metadata, new TypeReference<Committed>() {});
      return deploymentId.equals(c.deployment()) ? c.anchors() : Map.of();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("kafka sink " + node.id() + ": group " + groupId + " holds offsets Ferry did not write: " + metadata, e);
    }
  }

  String metadata(Map<String, Long> after) {
    try {
      String m = JSON.writeValueAsString(new Committed(deploymentId, new TreeMap<>(after)));
      if (m.length() > METADATA_BYTES_MAX) {
        throw new IllegalStateException("kafka sink " + node.id() + ": anchors of " + after.size() + " upstreams do not fit Kafka's offset metadata");
      }
      return m;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long total(Map<String, Long> a) {
    return a.values().stream().mapToLong(Long::longValue).sum();
  }

  private void abortQuietly(KafkaProducer<byte[], byte[]> p) {
    try {
      p.abortTransaction();
    } catch (KafkaException e) {
      log.warn("kafka sink {}: aborting the failed transaction failed too; the producer is recreated", node.id(), e);
      closeProducer();
    }
  }

  private void closeProducer() {
    if (producer != null) {
      try {
        producer.close(Duration.ofSeconds(5));
      } finally {
        producer = null;
        committedInKafka = null;
      }
    }
  }

  /** What the sink commits as its group's offset metadata. */
  record Committed(String deployment, Map<String, Long> anchors) {}
}
