package io.ferry.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    var config = H2Journal.config(H2Journal.defaultUrl(dir), 4);
    assertEquals("jdbc-journal", config.getString("pekko.persistence.journal.plugin"));
    assertEquals(4, config.getInt("pekko-persistence-jdbc.shared-databases.slick.db.maxConnections"));
  }
}
