package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.runtime.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry job submit|status|cancel} against a three-site cluster's {@code /jobs} endpoint, with YAML and JSON job files. */
class JobCommandIT {

  @TempDir Path dir;

  @Test
  void submitStatusAndCancelAgainstARealEndpoint() throws Exception {
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.empty(), Duration.ofSeconds(60))) {
      String url = cluster.httpUrl("edge-a");
      Path marker = dir.resolve("ran.txt");
      Path yaml = dir.resolve("quick.yaml");
      Files.writeString(yaml, String.join("\n",
          "id: quick",
          "tasks:",
          "  - name: hello",
          "    kind: command",
          "    parameters:",
          "      command: /bin/sh",
          "      args: [\"-c\", \"echo hello from $FERRY_POOL; echo $FERRY_TASK >> " + marker + "\"]",
          "    retryCount: 2",
          "    leaseMs: 5000",
          "    tier: edge",
          ""));
      CliRun submit = CliRun.of("job", "submit", yaml.toString(), "--url", url);
      assertEquals(0, submit.exit(), submit::toString);
      assertTrue(submit.out().contains("job quick queued: 1 tasks, 2 replicas"), submit::out);
      CliRun again = CliRun.of("job", "submit", yaml.toString(), "--url", url);
      assertTrue(again.out().contains("was queued before"), again::out);

      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      CliRun status;
      do {
        Thread.sleep(200);
        status = CliRun.of("job", "status", "quick", "--url", url);
      } while (!status.out().contains("job quick: succeeded") && System.nanoTime() < deadline);
      assertTrue(status.out().contains("job quick: succeeded - 1 done, 0 running, 0 queued, 0 failed"), status::out);
      assertTrue(status.out().matches("(?s).*quick/hello\\s+command\\s+succeeded\\s+edge-[ab]\\s+edge-[ab]:1\\s.*"), status::out);
      assertEquals("quick/hello\n", Files.readString(marker));

      Path bad = dir.resolve("bad.json");
      Files.writeString(bad, "{\"id\": \"bad\", \"tasks\": [{\"name\": \"x\", \"kind\": \"command\", \"parameters\": {\"command\": \"true\", \"timeoutMs\": -1}}]}");
      CliRun refused = CliRun.of("job", "submit", bad.toString(), "--url", url);
      assertEquals(1, refused.exit(), refused::toString);
      assertTrue(refused.err().contains("timeoutMs") && refused.err().contains("HTTP 400"), refused::err);

      Path slow = dir.resolve("slow.json");
      Files.writeString(slow, "{\"id\": \"slow\", \"tasks\": [{\"name\": \"s\", \"kind\": \"command\", \"parameters\": {\"command\": \"/bin/sleep\", \"args\": [\"60\"]}, \"leaseMs\": 3000}]}");
      assertEquals(0, CliRun.of("job", "submit", slow.toString(), "--url", url).exit());
      CliRun cancel = CliRun.of("job", "cancel", "slow", "--url", url);
      assertEquals(0, cancel.exit(), cancel::toString);
      assertTrue(cancel.out().contains("job slow cancelled: 1 unfinished tasks"), cancel::out);
      CliRun all = CliRun.of("job", "status", "--url", url);
      assertTrue(all.out().contains("job quick: succeeded") && all.out().contains("job slow: cancelled"), all::out);

      CliRun unknown = CliRun.of("job", "status", "nope", "--url", url);
      assertEquals(1, unknown.exit(), unknown::toString);
      assertTrue(unknown.err().contains("HTTP 404") && unknown.err().contains("no job nope"), unknown::err);
    }
  }
}
