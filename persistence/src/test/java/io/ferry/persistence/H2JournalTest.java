package io.ferry.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
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

  @Test
  void configSelectsTheJdbcPlugins(@TempDir Path dir) {
    var config = H2Journal.config(H2Journal.defaultUrl(dir), 4);
    assertEquals("jdbc-journal", config.getString("pekko.persistence.journal.plugin"));
    assertEquals(4, config.getInt("pekko-persistence-jdbc.shared-databases.slick.db.maxConnections"));
  }
}
