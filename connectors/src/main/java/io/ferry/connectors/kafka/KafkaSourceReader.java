package io.ferry.connectors.kafka;

import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.JsonRows;
import io.ferry.query.ops.OperatorDelta;
import io.ferry.query.ops.OperatorState;
import io.ferry.query.ops.SourcePosition;
import io.ferry.query.ops.SourceReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads every partition of a topic for a source node. Its position is the next offset of each
 * partition, returned with every read and persisted with the batch ({@link SourcePosition}); the
 * consumer is positioned from that persisted position, never from consumer-group commits, so a
 * moved or restarted source resumes exactly after its last persisted batch. The node's anchor is
 * the count of records read, so the source's batches stay contiguous whatever the offsets are
 * (transaction markers leave gaps in them).
 */
public final class KafkaSourceReader implements SourceReader {
  /** How long one read waits for records: short, because it runs on the node's thread. */
  static final Duration POLL = Duration.ofMillis(5);

  private final OperatorSpec.ReadKafka spec;
  private final JsonRows rows;
  private KafkaConsumer<byte[], byte[]> consumer;
  private List<TopicPartition> partitions;
  /** The persisted position: partition → next offset; a partition missing here starts at its beginning. */
  private Map<Integer, Long> position = new HashMap<>();
  /** Where the consumer stands after the last read, to tell whether it must seek to {@link #position}. */
  private Map<Integer, Long> consumerAt;

  public KafkaSourceReader(OperatorSpec.ReadKafka spec) {
    this.spec = spec;
    this.rows = new JsonRows(spec.schema());
  }

  @Override
  public Read read(long anchor, int max) {
    if (spec.count() >= 0 && anchor >= spec.count()) {
      return new Read(List.of(), anchor, true, null);
    }
    int want = spec.count() >= 0 ? (int) Math.min(max, spec.count() - anchor) : max;
    if (want <= 0) {
      return new Read(List.of(), anchor, false, null);
    }
    KafkaConsumer<byte[], byte[]> c = consumer();
    if (!position.equals(consumerAt)) {
      seekTo(c, position);
    }
    ConsumerRecords<byte[], byte[]> polled = c.poll(POLL);
    Map<Integer, Long> next = new HashMap<>(position);
    List<Row> out = new ArrayList<>(Math.min(want, polled.count()));
    boolean cut = false;
    for (TopicPartition tp : partitions) {
      for (ConsumerRecord<byte[], byte[]> r : polled.records(tp)) {
        if (out.size() == want) {
          cut = true;
          break;
        }
        out.add(decode(r));
        next.put(tp.partition(), r.offset() + 1);
      }
    }
    if (cut) {
      // records past the batch were fetched but not taken: the next read starts after the taken ones
      seekTo(c, next);
    } else {
      consumerAt = next;
    }
    if (out.isEmpty()) {
      return new Read(List.of(), anchor, false, null);
    }
    long end = anchor + out.size();
    return new Read(out, end, spec.count() >= 0 && end == spec.count(), new SourcePosition(keys(next)));
  }

  @Override
  public void apply(OperatorDelta delta) {
    if (delta == null) {
      return;
    }
    if (!(delta instanceof SourcePosition p)) {
      throw new IllegalArgumentException("kafka source: cannot apply " + delta.getClass().getSimpleName());
    }
    Map<Integer, Long> applied = new HashMap<>();
    p.positions().forEach((k, v) -> applied.put(Integer.parseInt(k), v));
    position = applied;
  }

  @Override
  public OperatorState snapshot() {
    return new SourcePosition(keys(position));
  }

  @Override
  public void restore(OperatorState state) {
    position = new HashMap<>();
    if (state != null) {
      apply((SourcePosition) state);
    }
  }

  @Override
  public void close() {
    if (consumer != null) {
      consumer.close(Duration.ofSeconds(2));
      consumer = null;
    }
  }

  private Row decode(ConsumerRecord<byte[], byte[]> r) {
    try {
      return rows.decode(r.value() == null ? new byte[0] : r.value());
    } catch (JsonRows.BadRow e) {
      throw new IllegalArgumentException(
          "kafka topic " + r.topic() + " partition " + r.partition() + " offset " + r.offset() + ": " + e.getMessage(), e);
    }
  }

  private void seekTo(KafkaConsumer<byte[], byte[]> c, Map<Integer, Long> at) {
    List<TopicPartition> fromStart = new ArrayList<>();
    for (TopicPartition tp : partitions) {
      Long offset = at.get(tp.partition());
      if (offset == null) {
        fromStart.add(tp);
      } else {
        c.seek(tp, offset);
      }
    }
    if (!fromStart.isEmpty()) {
      c.seekToBeginning(fromStart);
    }
    consumerAt = new HashMap<>(at);
  }

  private KafkaConsumer<byte[], byte[]> consumer() {
    if (consumer == null) {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, spec.bootstrap());
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      // only what producers committed: a Ferry sink's aborted attempts never enter another query
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      p.put(ConsumerConfig.CLIENT_ID_CONFIG, "ferry-source-" + spec.topic());
      // a misspelt topic is an error below, not a new empty topic (brokers auto-create by default)
      p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
      p.putAll(spec.properties());
      consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      List<PartitionInfo> infos = consumer.partitionsFor(spec.topic(), Duration.ofSeconds(30));
      if (infos == null || infos.isEmpty()) {
        consumer.close(Duration.ZERO);
        consumer = null;
        throw new IllegalStateException("kafka topic " + spec.topic() + " at " + spec.bootstrap() + " has no partitions (does it exist?)");
      }
      partitions = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).sorted((a, b) -> Integer.compare(a.partition(), b.partition())).toList();
      consumer.assign(partitions);
      consumerAt = null;
    }
    return consumer;
  }

  private static Map<String, Long> keys(Map<Integer, Long> m) {
    Map<String, Long> out = new HashMap<>();
    m.forEach((k, v) -> out.put(Integer.toString(k), v));
    return out;
  }
}
