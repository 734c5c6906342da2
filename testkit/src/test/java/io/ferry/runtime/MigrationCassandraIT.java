package io.ferry.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.testkit.CassandraServer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MigrationIT}'s live moves with the journal in a real Cassandra (started by
 * {@code scripts/cassandra}) instead of H2: the same tests, the same once-only checks.
 */
class MigrationCassandraIT extends MigrationIT {

  @TempDir static Path cassandraDir;
  private static CassandraServer cassandra;
  private static final AtomicInteger KEYSPACE = new AtomicInteger();

  @BeforeAll
  static void startCassandra() throws Exception {
    cassandra = new CassandraServer(cassandraDir.resolve("cassandra"), CassandraServer.freePortPair());
    cassandra.start();
  }

  @AfterAll
  static void stopCassandra() throws Exception {
    if (cassandra != null) {
      cassandra.stop();
    }
  }

  @Override
  protected Config journal() {
    // A keyspace per test: each test's cluster starts with an empty registry.
    int n = KEYSPACE.incrementAndGet();
    return ConfigFactory.parseString(
        String.join(
            "\n",
            "ferry.persistence.journal = cassandra",
            "ferry.persistence.cassandra.contact-points = [\"" + cassandra.contactPoint() + "\"]",
            "ferry.persistence.cassandra.journal-keyspace = ferry_moves_" + n,
            "ferry.persistence.cassandra.snapshot-keyspace = ferry_moves_snapshot_" + n));
  }
}
