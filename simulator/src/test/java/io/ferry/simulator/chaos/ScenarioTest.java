package io.ferry.simulator.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every shipped scenario loads; a scenario's mistakes are refused with the setting named. */
class ScenarioTest {

  @TempDir Path dir;

  @Test
  void shippedScenariosLoad() {
    for (String name : new String[] {"edge-cloud-moves", "mixed-chaos", "block-migration", "mixed-blocks", "site-partitions"}) {
      Scenario s = Scenario.load(Path.of("..", "config", "scenarios", name + ".conf"));
      assertEquals(name, s.name());
    }
    Scenario blocks = Scenario.load(Path.of("..", "config", "scenarios", "block-migration.conf"));
    assertFalse(blocks.hasQuery());
    assertEquals(1, blocks.volumes().count());
    assertEquals(65536, blocks.volumes().blockSizeBytes());
    assertTrue(Scenario.load(Path.of("..", "config", "scenarios", "mixed-blocks.conf")).hasQuery());
  }

  private Scenario load(String body) throws Exception {
    Path f = dir.resolve("s.conf");
    Files.writeString(f, "scenario { name = t\n sites { cloud { tier = cloud, members = 1 }, edge-a { tier = edge, members = 1 }, edge-b { tier = edge, members = 1 } }\n fault-window = 1s\n liveness-bound = 10s\n" + body + "\n}");
    return Scenario.load(f);
  }

  @Test
  void mistakesNameTheSetting() {
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> load("faults { }"));
    assertTrue(none.getMessage().contains("query section, a volumes section"), none.getMessage());
    IllegalArgumentException crash = assertThrows(IllegalArgumentException.class, () -> load("query { records-per-source = 10, rate-per-source = 10 }\nfaults { frontend-crash = 1 }"));
    assertTrue(crash.getMessage().contains("need a volumes section"), crash.getMessage());
    IllegalArgumentException site = assertThrows(IllegalArgumentException.class,
        () -> load("volumes { count = 1, size-mib = 4, block-size = 64KiB, source-site = edge-z, target-site = cloud, ops-per-second = 1 }\nfaults { }"));
    assertTrue(site.getMessage().contains("scenario.volumes.source-site"), site.getMessage());
  }
}
