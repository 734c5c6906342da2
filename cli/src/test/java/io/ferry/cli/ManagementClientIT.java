package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.runtime.LocalCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry submit}, {@code migrate}, {@code status} and {@code volume status} against a three-site cluster's management endpoint. */
class ManagementClientIT {

  @TempDir Path dir;

  @Test
  void submitMigrateAndStatusAgainstARealEndpoint() {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      String url = cluster.httpUrl("cloud");

      CliRun submit = CliRun.of("submit", "--sample", "--query", "http", "--records", "20000", "--rate", "4000", "--url", url);
      assertEquals(0, submit.exit(), submit::toString);
      assertTrue(submit.out().contains("deployed query http"), submit::out);
      CliRun again = CliRun.of("submit", "--sample", "--query", "http", "--url", url);
      assertEquals(1, again.exit(), again::toString);
      assertTrue(again.err().contains("query refused"), again::err);

      CliRun moved = CliRun.of("migrate", "--query", "http", "--node", "window-a", "--to", "cloud", "--url", url);
      assertEquals(0, moved.exit(), moved::toString);
      assertTrue(moved.out().contains("COMPLETED") && moved.out().contains("restore"), moved::out);

      CliRun refused = CliRun.of("migrate", "--query", "http", "--node", "filter-a", "--to", "cloud", "--url", url);
      assertEquals(1, refused.exit(), refused::toString);
      assertTrue(refused.err().contains("migration refused") && refused.err().contains("PII"), refused::err);

      CliRun status = CliRun.of("status", "--url", url);
      assertEquals(0, status.exit(), status::toString);
      assertTrue(status.out().matches("(?s).*window-a\\s+window\\s+cloud\\s.*"), status::out);
      assertTrue(status.out().contains("query http"), status::out);

      CliRun volume = CliRun.of("volume", "status", "nope", "--url", url);
      assertEquals(1, volume.exit(), volume::toString);
      assertTrue(volume.err().contains("nope"), volume::err);
    }
  }
}
