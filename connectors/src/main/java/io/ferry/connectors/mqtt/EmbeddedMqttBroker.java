package io.ferry.connectors.mqtt;

import com.typesafe.config.Config;
import io.moquette.broker.Server;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Moquette MQTT broker inside this JVM, for edge sites without one. Sessions and queued messages
 * live in memory: a device's unacknowledged messages survive a Ferry source's move or restart (its
 * persistent session stays in the broker), not the broker's own restart — nor the death of the
 * member it runs in, which takes the broker's PUBACKed-but-undelivered messages with it. Moquette's
 * in-flight windows are guarded by {@link InflightIdGuard}. Started by {@link
 * MqttBrokerExtension} when {@code ferry.connectors.mqtt.embedded-broker.enabled} is on, and by
 * tests and the MQTT benchmark directly.
 */
public final class EmbeddedMqttBroker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedMqttBroker.class);

  /** Commands queued per session event loop before Moquette drops them; a power of two. */
  static final int SESSION_QUEUE_SIZE = 16_384;

  private final Server server = new Server();
  private final String host;
  private final int port;
  private InflightIdGuard guard;

  private EmbeddedMqttBroker(String host, int port) {
    this.host = host;
    this.port = port;
  }

  /** Starts a broker listening on {@code host:port} (MQTT over TCP only). */
  public static EmbeddedMqttBroker start(String host, int port, int messageBytesMax) {
    EmbeddedMqttBroker b = new EmbeddedMqttBroker(host, port);
    Properties p = new Properties();
    p.setProperty("host", host);
    p.setProperty("port", Integer.toString(port));
    p.setProperty("websocket_port", "disabled");
    p.setProperty("persistence_enabled", "false");
    p.setProperty("allow_anonymous", "true");
    // Moquette otherwise sends usage data to its authors' server at start and writes a UUID file
    // into the working directory
    p.setProperty("telemetry_enabled", "false");
    p.setProperty("immediate_buffer_flush", "true");
    p.setProperty("netty.mqtt.message_size", Integer.toString(messageBytesMax));
    // Moquette drops a session's command when its queue is full (a lost PUBLISH, never PUBACKed):
    // room for what a device's in-flight window and a slow subscriber can pile up
    p.setProperty("session_queue_size", Integer.toString(SESSION_QUEUE_SIZE));
    try {
      b.server.startServer(p);
    } catch (IOException e) {
      throw new UncheckedIOException("embedded MQTT broker: cannot listen on " + host + ":" + port, e);
    }
    try {
      b.guard = InflightIdGuard.install(b.server);
    } catch (RuntimeException e) {
      b.server.stopServer();
      throw e;
    }
    log.info("embedded MQTT broker listening on {}:{}", host, port);
    return b;
  }

  /** The settings under {@code ferry.connectors.mqtt.embedded-broker}. */
  public static EmbeddedMqttBroker start(Config c) {
    int port = c.getInt("port");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("ferry.connectors.mqtt.embedded-broker.port must be 1..65535, got " + port);
    }
    return start(c.getString("host"), port, (int) c.getBytes("message-size-max").longValue());
  }

  /** {@code tcp://host:port}, for a source's or sink's broker. */
  public String uri() {
    return "tcp://" + host + ":" + port;
  }

  /** Un-PUBACKed messages queued again because Moquette handed their packet id out again (see {@link InflightIdGuard}). */
  public long requeuedInflight() {
    return guard.requeued();
  }

  /** Client ids connected now. */
  public java.util.List<String> connectedClients() {
    return server.listConnectedClients().stream().map(io.moquette.broker.ClientDescriptor::getClientID).toList();
  }

  @Override
  public void close() {
    server.stopServer();
  }
}
