package io.ferry.connectors.mqtt;

import com.typesafe.config.Config;
import java.util.Optional;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * Runs the embedded MQTT broker for the lifetime of a member's actor system when {@code
 * ferry.connectors.mqtt.embedded-broker.enabled} is on. Loaded through {@code
 * pekko.library-extensions} (connectors' reference.conf), so a member gets it just by having the
 * connectors on its classpath, and the runtime knows nothing of MQTT.
 */
public final class MqttBrokerExtension implements Extension {
  public static final Id ID = Id.MODULE$;

  private final Optional<EmbeddedMqttBroker> broker;

  private MqttBrokerExtension(ExtendedActorSystem system) {
    Config c = system.settings().config().getConfig("ferry.connectors.mqtt.embedded-broker");
    if (c.getBoolean("enabled")) {
      EmbeddedMqttBroker b = EmbeddedMqttBroker.start(c);
      system.registerOnTermination(b::close);
      broker = Optional.of(b);
    } else {
      broker = Optional.empty();
    }
  }

  /** The broker this member runs, if enabled. */
  public Optional<EmbeddedMqttBroker> broker() {
    return broker;
  }

  /**
   * Extensions are keyed by their id's identity: {@code MODULE$} is where Pekko's loader of {@code
   * library-extensions} looks for a singleton, so the loader and {@link #ID} share one instance.
   */
  public static final class Id extends AbstractExtensionId<MqttBrokerExtension> {
    public static final Id MODULE$ = new Id();

    private Id() {}

    @Override
    public MqttBrokerExtension createExtension(ExtendedActorSystem system) {
      return new MqttBrokerExtension(system);
    }
  }
}
