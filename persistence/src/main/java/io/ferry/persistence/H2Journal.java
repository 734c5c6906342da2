package io.ferry.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

/**
 * The embedded default journal: Pekko Persistence JDBC on an H2 file database. Members of a local
 * cluster share one database file: in one JVM they share H2's in-process database; a second JVM on
 * the same machine reaches it through the TCP server that {@code AUTO_SERVER=TRUE} starts in the
 * first. Called by the runtime before an {@code ActorSystem} starts.
 */
public final class H2Journal {

  private static final String SCHEMA_RESOURCE = "schema/h2/h2-create-schema.sql";

  private H2Journal() {}

  /**
   * The URL of the database under a member's data directory. {@code WRITE_DELAY=0} writes each
   * commit to the file before the journal acknowledges it: H2's default keeps commits in memory for
   * up to 500 ms, and a member killed with kill -9 then loses events its nodes already acted on
   * (an MQTT message acknowledged to the broker, a batch a downstream node already took).
   *
   * <p>{@code async:} opens the file through an {@code AsynchronousFileChannel}, which a thread
   * interrupt does not close. With {@code file:} (a {@code FileChannel}), a member whose system
   * terminated while one of its journal threads was writing (a crash in a JVM that hosts several
   * members: tests, the demo, the simulator) closed the channel for every member sharing the
   * database, and H2 then refused them all ("The database has been closed") until restarted.
   */
  public static String defaultUrl(Path dataDir) {
    Path base = dataDir.toAbsolutePath().resolve("journal").resolve("ferry");
    return "jdbc:h2:async:" + base + ";AUTO_SERVER=TRUE;WRITE_DELAY=0";
  }

  /** Picks the configured URL or the default one under {@code dataDir}. */
  public static String url(Config config, Path dataDir) {
    String configured = config.getString("ferry.persistence.h2.url");
    return configured.isBlank() ? defaultUrl(dataDir) : configured;
  }

  /**
   * Configuration that selects the JDBC journal, snapshot store and read journal on {@code url}. It
   * goes in front of the user's configuration.
   *
   * <p>{@code writeParallelism} is the journal's transactions in flight. The plugin puts every write
   * that arrives while they are all busy into its next transaction, so a small number makes one
   * commit carry the batches of several nodes. Each H2 commit writes a chunk of the changed pages
   * of every index (the commits of concurrent transactions one after another), so fewer, fuller
   * commits cost less: 8 in flight (the plugin's default) took about 20 % more CPU per row of the
   * pipeline bench than 1 or 2. A failed write fails the others of its transaction too (their
   * writers stop and recover from the journal, where none of them is), as the plugin does at any
   * setting.
   */
  public static Config config(String url, int maxConnections, int writeParallelism) {
    if (writeParallelism < 1 || writeParallelism > maxConnections) {
      // A transaction holds a connection to its commit: more in flight than connections only queue.
      throw new IllegalArgumentException(
          "ferry.persistence.h2.write-parallelism must be 1.." + maxConnections + " (max-connections), got " + writeParallelism);
    }
    Map<String, Object> db =
        Map.of(
            "url", url,
            "user", "ferry",
            "password", "",
            "driver", "org.h2.Driver",
            "numThreads", maxConnections,
            "maxConnections", maxConnections,
            "minConnections", 1);
    return ConfigFactory.parseMap(
            Map.of(
                "pekko-persistence-jdbc.shared-databases.slick.profile", "slick.jdbc.H2Profile$",
                "pekko-persistence-jdbc.shared-databases.slick.db",
                    ConfigValueFactory.fromMap(db)))
        .withFallback(
            ConfigFactory.parseString(
                String.join(
                    "\n",
                    "pekko.persistence.journal.plugin = jdbc-journal",
                    "pekko.persistence.snapshot-store.plugin = jdbc-snapshot-store",
                    "jdbc-journal.use-shared-db = slick",
                    "jdbc-journal.parallelism = " + writeParallelism,
                    "jdbc-snapshot-store.use-shared-db = slick",
                    "jdbc-read-journal.use-shared-db = slick",
                    "jdbc-durable-state-store.use-shared-db = slick")));
  }

  /**
   * Creates the journal, snapshot and durable-state tables if they are missing. Safe to call from
   * every member at start: every statement is idempotent.
   */
  public static void ensureSchema(String url) {
    String script = readSchema();
    try (Connection c = DriverManager.getConnection(url, "ferry", "");
        Statement st = c.createStatement()) {
      for (String raw : script.split(";")) {
        String sql = raw.strip();
        if (sql.isEmpty()) {
          continue;
        }
        // The shipped script creates one index without IF NOT EXISTS; make every statement re-runnable.
        st.execute(inlinePayloads(sql.replace("CREATE UNIQUE INDEX \"", "CREATE UNIQUE INDEX IF NOT EXISTS \"")));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the H2 journal schema at " + url + ": " + e.getMessage(), e);
    }
  }

  /**
   * The shipped script types every payload column {@code BLOB}. H2 keeps a BLOB longer than 256
   * bytes in its LOB store: three more maps, each rewritten at every commit, so a journal write
   * cost about twice the CPU of the same bytes kept in the row. {@code VARBINARY} (up to 1 GB
   * in H2) keeps them in the row; the plugin reads and writes both through {@code get/setBytes}.
   * A database created by an earlier build keeps its BLOB columns: {@code CREATE TABLE IF NOT
   * EXISTS} leaves its tables as they are.
   */
  static String inlinePayloads(String statement) {
    return statement.replace(" BLOB", " VARBINARY");
  }

  /** Makes sure the directory of a file URL exists, so H2 can create the database in it. */
  public static void ensureDirectory(String url) {
    String prefix = url.startsWith("jdbc:h2:file:") ? "jdbc:h2:file:" : url.startsWith("jdbc:h2:async:") ? "jdbc:h2:async:" : null;
    if (prefix == null) {
      return;
    }
    String path = url.substring(prefix.length()).split(";", 2)[0];
    try {
      Path parent = Path.of(path).toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot create the journal directory for " + url + ": " + e.getMessage(), e);
    }
  }

  private static String readSchema() {
    try (InputStream in = H2Journal.class.getClassLoader().getResourceAsStream(SCHEMA_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(SCHEMA_RESOURCE + " is missing: is pekko-persistence-jdbc on the classpath?");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + SCHEMA_RESOURCE, e);
    }
  }
}
