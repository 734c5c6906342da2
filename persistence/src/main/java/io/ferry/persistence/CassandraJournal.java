package io.ferry.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.cassandra.KeyspaceAndTableStatements;
import org.apache.pekko.persistence.cassandra.PluginSettings;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;

/**
 * The cluster journal: Pekko Persistence Cassandra. Ferry creates the keyspaces and tables itself
 * (the plugin's auto-create is off, as its documentation advises for production) with the
 * replication given in {@code ferry.persistence.cassandra}. Called by the runtime when a member
 * starts with {@code ferry.persistence.journal = cassandra}.
 */
public final class CassandraJournal {

  public static final String PLUGIN = "pekko.persistence.cassandra";
  /** One connection attempt of {@link #awaitReachable}; a host that drops packets costs no more. */
  private static final long CONNECT_TIMEOUT_MILLIS = 2_000;

  private CassandraJournal() {}

  /** Configuration that selects the Cassandra journal and snapshot store; goes in front of the user's. */
  public static Config config(Config config) {
    Config c = config.getConfig("ferry.persistence.cassandra");
    List<String> contactPoints = c.getStringList("contact-points");
    if (contactPoints.isEmpty()) {
      throw new IllegalArgumentException("ferry.persistence.cassandra.contact-points must name at least one host:port");
    }
    String strategy = c.getString("replication-strategy");
    if (!strategy.equals("SimpleStrategy") && !strategy.equals("NetworkTopologyStrategy")) {
      throw new IllegalArgumentException(
          "ferry.persistence.cassandra.replication-strategy must be SimpleStrategy or NetworkTopologyStrategy, got '" + strategy + "'");
    }
    List<String> dcFactors = c.getStringList("data-center-replication-factors");
    if (strategy.equals("NetworkTopologyStrategy") && dcFactors.isEmpty()) {
      throw new IllegalArgumentException(
          "ferry.persistence.cassandra.data-center-replication-factors must list dc:factor pairs for NetworkTopologyStrategy");
    }
    Config plugin =
        ConfigFactory.empty()
            .withValue("pekko.persistence.journal.plugin", ConfigValueFactory.fromAnyRef(PLUGIN + ".journal"))
            .withValue("pekko.persistence.snapshot-store.plugin", ConfigValueFactory.fromAnyRef(PLUGIN + ".snapshot"))
            .withValue("datastax-java-driver.basic.contact-points", ConfigValueFactory.fromIterable(contactPoints))
            .withValue("datastax-java-driver.basic.load-balancing-policy.local-datacenter",
                ConfigValueFactory.fromAnyRef(c.getString("local-datacenter")))
            .withValue("datastax-java-driver.profiles.pekko-persistence-cassandra-profile.basic.request.consistency",
                ConfigValueFactory.fromAnyRef(c.getString("write-consistency")))
            .withValue("datastax-java-driver.profiles.pekko-persistence-cassandra-snapshot-profile.basic.request.consistency",
                ConfigValueFactory.fromAnyRef(c.getString("write-consistency")));
    for (String part : new String[] {"journal", "snapshot"}) {
      String p = PLUGIN + "." + part + ".";
      plugin =
          plugin
              .withValue(p + "keyspace", ConfigValueFactory.fromAnyRef(c.getString(part + "-keyspace")))
              .withValue(p + "replication-strategy", ConfigValueFactory.fromAnyRef(strategy))
              .withValue(p + "replication-factor", ConfigValueFactory.fromAnyRef(c.getInt("replication-factor")))
              .withValue(p + "data-center-replication-factors", ConfigValueFactory.fromIterable(dcFactors));
    }
    return plugin.withFallback(
        ConfigFactory.parseMap(
            Map.of(
                // Ferry does not tag events: no tag tables to write.
                PLUGIN + ".events-by-tag.enabled", false,
                // A member may start before Cassandra answers: keep trying instead of failing the member.
                "datastax-java-driver.advanced.reconnect-on-init", true,
                // After an outage, reconnect within seconds rather than the driver's 60 s backoff cap.
                "datastax-java-driver.advanced.reconnection-policy.max-delay", "2s")));
  }

  /**
   * Waits up to {@code timeout} for some contact point of {@code ferry.persistence.cassandra} to
   * accept a TCP connection; fails naming them otherwise. Called before the member's actor system
   * starts: a driver session whose first connection fails keeps its netty threads after the system
   * has terminated, so a member that cannot reach Cassandra must find out before the driver starts.
   */
  public static void awaitReachable(Config config, Duration timeout) {
    List<String> points = config.getStringList("ferry.persistence.cassandra.contact-points");
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> failures = new ArrayList<>();
    while (true) {
      failures.clear();
      for (String point : points) {
        int colon = point.lastIndexOf(':');
        if (colon < 0) {
          throw new IllegalArgumentException("ferry.persistence.cassandra.contact-points must be host:port, got '" + point + "'");
        }
        long leftMillis = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress(point.substring(0, colon), Integer.parseInt(point.substring(colon + 1))), (int) Math.min(leftMillis, CONNECT_TIMEOUT_MILLIS));
          return;
        } catch (IOException | IllegalArgumentException e) {
          failures.add(point + ": " + e.getMessage());
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "no Cassandra contact point accepted a connection within " + timeout + " (ferry.persistence.cassandra.contact-points = " + points + "): " + failures);
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Cassandra at " + points, ie);
      }
    }
  }

  /**
   * Creates the journal and snapshot keyspaces and tables if they are missing, waiting up to
   * {@code timeout} for Cassandra to answer. Every statement is idempotent (IF NOT EXISTS).
   */
  public static void ensureSchema(ActorSystem system, Duration timeout) {
    KeyspaceAndTableStatements statements = new KeyspaceAndTableStatements(system, PLUGIN, PluginSettings.apply(system));
    List<String> ddl = new ArrayList<>();
    ddl.add(statements.createJournalKeyspaceStatement());
    ddl.addAll(statements.getCreateJournalTablesStatements());
    ddl.add(statements.createSnapshotKeyspaceStatement());
    ddl.addAll(statements.getCreateSnapshotTablesStatements());
    CassandraSession session =
        CassandraSessionRegistry.get(system).sessionFor(CassandraSessionSettings.create(PLUGIN));
    long deadline = System.nanoTime() + timeout.toNanos();
    for (String statement : ddl) {
      while (true) {
        try {
          session.executeDDL(statement).toCompletableFuture().get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
          break;
        } catch (Exception e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "cannot create the Cassandra journal schema within " + timeout + " (is Cassandra running at "
                    + system.settings().config().getStringList("datastax-java-driver.basic.contact-points") + "?): " + rootMessage(e), e);
          }
          try {
            Thread.sleep(500);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating the Cassandra schema", ie);
          }
        }
      }
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }
}
