package io.ferry.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process that writes to the default journal URL and is killed with SIGKILL keeps every commit it
 * reported: H2's default write delay would hold the last half second of commits in memory and lose
 * them, which a member's nodes would already have acted on.
 */
class H2KillIT {

  /** Commits rows one at a time and prints each committed number; runs until it is killed. */
  public static final class Writer {
    public static void main(String[] args) throws Exception {
      String url = H2Journal.defaultUrl(Path.of(args[0]));
      try (Connection c = DriverManager.getConnection(url, "ferry", "")) {
        c.createStatement().execute("CREATE TABLE IF NOT EXISTS acked(n INT PRIMARY KEY)");
        c.setAutoCommit(false);
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO acked VALUES (?)")) {
          for (int n = 1; ; n++) {
            insert.setInt(1, n);
            insert.executeUpdate();
            c.commit();
            System.out.println(n);
            System.out.flush();
          }
        }
      }
    }
  }

  @Test
  void everyCommitReportedBeforeAKillSurvivesIt(@TempDir Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"), Writer.class.getName(), dir.toString()))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    int last = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      // Enough commits that some are younger than H2's default 500 ms write delay at the kill.
      while ((line = out.readLine()) != null) {
        last = Integer.parseInt(line.strip());
        if (last >= 2_000) {
          break;
        }
      }
      // SIGKILL: no shutdown hook, no close; only what reached the file survives.
      new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the writer did not die");
    }
    assertTrue(last >= 2_000, "the writer reported only " + last + " commits before it ended");
    try (Connection c = DriverManager.getConnection(H2Journal.defaultUrl(dir), "ferry", "");
        ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*), MAX(n) FROM acked")) {
      rs.next();
      int max = rs.getInt(2);
      assertTrue(max >= last, "commit " + last + " was reported before the kill but the file ends at " + max);
      assertEquals(max, rs.getInt(1), "rows 1.." + max + " all present");
    }
  }
}
