package io.ferry.connectors;

import io.ferry.testkit.KafkaServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * One Kafka broker for every connector IT in the test JVM (failsafe runs the module's ITs in one
 * fork): a broker start costs 5–15 s on a loaded machine, and the ITs only need distinct topics.
 * Started on first use, stopped (and its files deleted) when the JVM exits. A test that kills or
 * restarts its broker must start its own.
 */
public final class SharedKafka {
  private static KafkaServer server;

  private SharedKafka() {}

  /** The shared broker, started now if this is the first use. */
  public static synchronized KafkaServer get() throws Exception {
    if (server == null) {
      Path dir = Files.createTempDirectory("ferry-shared-kafka-");
      KafkaServer s = KafkaServer.startOnFreePort(dir);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(s, dir), "shared-kafka-stop"));
      server = s;
    }
    return server;
  }

  private static void stop(KafkaServer s, Path dir) {
    try {
      s.stop();
    } catch (Exception e) {
      System.err.println("shared Kafka broker did not stop: " + e);
      return; // its files stay, for a look at its logs
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("shared Kafka broker's files not deleted: " + e);
    }
  }
}
