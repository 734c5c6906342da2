package io.ferry.connectors;

import io.ferry.connectors.kafka.KafkaSink;
import io.ferry.connectors.kafka.KafkaSourceReader;
import io.ferry.connectors.mqtt.MqttSink;
import io.ferry.connectors.mqtt.MqttSourceReader;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.ops.ConnectorProvider;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.SourceReader;
import java.util.Optional;

/** The Kafka and MQTT sources and sinks, found by actors' {@link ConnectorProvider} ServiceLoader lookup. */
public final class Connectors implements ConnectorProvider {

  @Override
  public Optional<SourceReader> source(NodeSpec spec, String deploymentId) {
    if (spec.op() instanceof OperatorSpec.ReadKafka r) {
      return Optional.of(new KafkaSourceReader(r));
    } else if (spec.op() instanceof OperatorSpec.ReadMqtt m) {
      return Optional.of(new MqttSourceReader(spec, m));
    }
    return Optional.empty();
  }

  @Override
  public Optional<Operator> operator(NodeSpec spec, String deploymentId) {
    if (spec.op() instanceof OperatorSpec.WriteKafka w) {
      return Optional.of(new KafkaSink(spec, w, deploymentId));
    } else if (spec.op() instanceof OperatorSpec.WriteMqtt m) {
      return Optional.of(new MqttSink(spec, m));
    }
    return Optional.empty();
  }
}
