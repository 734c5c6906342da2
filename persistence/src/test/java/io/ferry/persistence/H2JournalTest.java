package io.ferry.persistence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2JournalTest {

  @Test
  void schemaIsCreatedOnceAndCreatingItAgainIsHarmless(@TempDir Path dir) throws Exception {
    String url = H2Journal.defaultUrl(dir);
    H2Journal.ensureDirectory(url);
    H2Journal.ensureSchema(url);
    H2Journal.ensureSchema(url);
    try (Connection c = DriverManager.getConnection(url, "ferry", "");
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME IN ('event_journal','snapshot','event_tag')")) {
      rs.next();
      assertEquals(3, rs.getInt(1));
    }
    assertTrue(url.contains("AUTO_SERVER=TRUE"));
  }

  /** Payloads live in the row (no LOB store), and a 100 KB one reads back as written. */
  @Test
  void payloadsAreKeptInTheRow(@TempDir Path dir) throws Exception {
    String url = H2Journal.defaultUrl(dir);
    H2Journal.ensureDirectory(url);
    H2Journal.ensureSchema(url);
    byte[] payload = new byte[100_000];
    new java.util.Random(7).nextBytes(payload);
    try (Connection c = DriverManager.getConnection(url, "ferry", "")) {
      assertEquals("BINARY VARYING", columnType(c, "event_journal", "event_payload"));
      assertEquals("BINARY VARYING", columnType(c, "event_journal", "meta_payload"));
      assertEquals("BINARY VARYING", columnType(c, "snapshot", "snapshot_payload"));
      try (PreparedStatement insert =
          c.prepareStatement(
              "INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\", \"writer\", \"write_timestamp\","
                  + " \"adapter_manifest\", \"event_payload\", \"event_ser_id\", \"event_ser_manifest\") VALUES ('p', 1, 'w', 0, '', ?, 1, 'm')")) {
        insert.setBytes(1, payload);
        insert.executeUpdate();
      }
      try (ResultSet rs = c.createStatement().executeQuery("SELECT \"event_payload\" FROM \"event_journal\"")) {
        assertTrue(rs.next());
        assertArrayEquals(payload, rs.getBytes(1));
      }
    }
  }

  /** A database created before payloads moved into the row keeps its BLOB columns and its events. */
  @Test
  void aDatabaseWithBlobPayloadsIsLeftAsItIs(@TempDir Path dir) throws Exception {
    String url = H2Journal.defaultUrl(dir);
    H2Journal.ensureDirectory(url);
    try (Connection c = DriverManager.getConnection(url, "ferry", "")) {
      c.createStatement().execute(
          "CREATE TABLE \"event_journal\" (\"ordering\" BIGINT UNIQUE NOT NULL AUTO_INCREMENT, \"persistence_id\" VARCHAR(255) NOT NULL,"
              + " \"sequence_number\" BIGINT NOT NULL, \"event_payload\" BLOB NOT NULL, PRIMARY KEY(\"persistence_id\",\"sequence_number\"))");
      c.createStatement().execute("INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\", \"event_payload\") VALUES ('p', 1, X'0102')");
    }
    H2Journal.ensureSchema(url);
    try (Connection c = DriverManager.getConnection(url, "ferry", "")) {
      assertEquals("BINARY LARGE OBJECT", columnType(c, "event_journal", "event_payload"));
      assertEquals("BINARY VARYING", columnType(c, "snapshot", "snapshot_payload"));
      try (ResultSet rs = c.createStatement().executeQuery("SELECT \"event_payload\" FROM \"event_journal\"")) {
        assertTrue(rs.next());
        assertArrayEquals(new byte[] {1, 2}, rs.getBytes(1));
      }
    }
  }

  private static String columnType(Connection c, String table, String column) throws SQLException {
    try (PreparedStatement q =
        c.prepareStatement("SELECT DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = ? AND COLUMN_NAME = ?")) {
      q.setString(1, table);
      q.setString(2, column);
      try (ResultSet rs = q.executeQuery()) {
        assertTrue(rs.next(), table + "." + column + " is missing");
        return rs.getString(1);
      }
    }
  }

  /**
   * A member that crashes in a JVM hosting others interrupts its journal threads, maybe in the middle
   * of a write. The database must stay open for the other members' connections.
   */
  @Test
  void aWriterInterruptedMidWriteLeavesTheDatabaseOpenForTheOthers(@TempDir Path dir) throws Exception {
    String url = H2Journal.defaultUrl(dir);
    H2Journal.ensureDirectory(url);
    try (Connection other = DriverManager.getConnection(url, "ferry", "")) {
      other.createStatement().execute("CREATE TABLE t(id INT PRIMARY KEY, v VARCHAR(4000))");
      String value = "x".repeat(4000);
      AtomicInteger written = new AtomicInteger();
      Thread writer = new Thread(() -> {
        try (Connection c = DriverManager.getConnection(url, "ferry", "");
            PreparedStatement insert = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
          for (int i = 1; i <= 2_000; i++) {
            insert.setInt(1, i);
            insert.setString(2, value);
            try {
              insert.executeUpdate();
              written.incrementAndGet();
            } catch (SQLException e) {
              Thread.interrupted(); // this writer's own write may fail; it goes on
            }
          }
        } catch (SQLException e) {
          // the interrupted connection may be unusable; what matters is the other one
        }
      });
      writer.start();
      while (written.get() < 10 && writer.isAlive()) {
        Thread.sleep(1);
      }
      assertTrue(written.get() >= 10, "the writer could not write before any interrupt");
      while (writer.isAlive()) {
        writer.interrupt();
        Thread.sleep(0, 200_000);
      }
      other.createStatement().execute("INSERT INTO t VALUES (0, 'after')");
      try (ResultSet rs = other.createStatement().executeQuery("SELECT v FROM t WHERE id = 0")) {
        assertTrue(rs.next());
        assertEquals("after", rs.getString(1));
      }
    }
  }

  @Test
  void configSelectsTheJdbcPlugins(@TempDir Path dir) {
    var config = H2Journal.config(H2Journal.defaultUrl(dir), 4, 2);
    assertEquals("jdbc-journal", config.getString("pekko.persistence.journal.plugin"));
    assertEquals(4, config.getInt("pekko-persistence-jdbc.shared-databases.slick.db.maxConnections"));
    assertEquals(2, config.getInt("jdbc-journal.parallelism"));
  }

  @Test
  void writeParallelismIsBoundedByTheConnections(@TempDir Path dir) {
    String url = H2Journal.defaultUrl(dir);
    assertThrows(IllegalArgumentException.class, () -> H2Journal.config(url, 4, 0));
    assertThrows(IllegalArgumentException.class, () -> H2Journal.config(url, 4, 5));
    assertEquals(4, H2Journal.config(url, 4, 4).getInt("jdbc-journal.parallelism"));
  }
}
