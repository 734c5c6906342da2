package io.ferry.connectors;

import io.ferry.connectors.kafka.KafkaSink;
import io.ferry.connectors.kafka.KafkaSourceReader;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.ops.ConnectorProvider;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.SourceReader;
import java.util.Optional;

/** The Kafka source and sink, found by actors' {@link ConnectorProvider} ServiceLoader lookup. */
public final class KafkaConnectors implements ConnectorProvider {

  @Override
  public Optional<SourceReader> source(NodeSpec spec, String deploymentId) {
    return spec.op() instanceof OperatorSpec.ReadKafka r ? Optional.of(new KafkaSourceReader(r)) : Optional.empty();
  }

  @Override
  public Optional<Operator> operator(NodeSpec spec, String deploymentId) {
    return spec.op() instanceof OperatorSpec.WriteKafka w ? Optional.of(new KafkaSink(spec, w, deploymentId)) : Optional.empty();
  }
}
