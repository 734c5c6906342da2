package io.ferry.query.ops;

import io.ferry.query.NodeSpec;
import java.util.Optional;

/**
 * Sources and sinks that talk to outside systems (Kafka, MQTT), found with {@link
 * java.util.ServiceLoader} so that their client libraries stay off the classpath of embedders who
 * do not use them. The {@code ferry-connectors} module provides one; {@link Operators} asks every
 * provider on the classpath for a spec the core does not run itself.
 */
public interface ConnectorProvider {

  /**
   * The reader of a source node, or empty if this provider does not handle its spec.
   *
   * @param deploymentId the node's deployment: a redeployed query starts its connectors afresh
   */
  Optional<SourceReader> source(NodeSpec spec, String deploymentId);

  /** The operator of a sink (or other) node, or empty if this provider does not handle its spec. */
  Optional<Operator> operator(NodeSpec spec, String deploymentId);
}
