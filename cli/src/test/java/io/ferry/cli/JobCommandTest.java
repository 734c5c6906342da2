package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry job}: argument and job-file errors, the status table, and the simulator's jobs workload from the command line. */
class JobCommandTest {

  @Test
  void badArgumentsAndFilesAreUsageErrors(@TempDir Path tmp) throws Exception {
    CliRun missing = CliRun.of("job", "submit", tmp.resolve("none.json").toString());
    assertEquals(2, missing.exit(), missing::toString);
    assertTrue(missing.err().contains("cannot read job file"), missing::err);
    Path broken = tmp.resolve("broken.yaml");
    Files.writeString(broken, "id: [unclosed\n");
    CliRun yaml = CliRun.of("job", "submit", broken.toString());
    assertEquals(2, yaml.exit(), yaml::toString);
    assertTrue(yaml.err().contains("is not valid YAML"), yaml::err);
    CliRun id = CliRun.of("job", "status", "../health");
    assertEquals(2, id.exit(), id::toString);
    assertTrue(id.err().contains("'../health'"), id::err);
    assertEquals(0, CliRun.of("job", "cancel", "--help").exit());
  }

  @Test
  void statusShowsProgressEtaAndEveryTasksPoolAttemptsLeaseAndReason() throws Exception {
    var job = new ObjectMapper().readTree("""
        {"id": "w", "state": "running", "done": 1, "running": 1, "queued": 0, "failed": 0, "cancelled": 0, "etaMillis": 4200,
         "tasks": [
          {"id": "w/a", "kind": "command", "state": "succeeded", "pool": "cloud", "attempts": {"edge-a": 2, "cloud": 1}, "outcome": "succeeded"},
          {"id": "w/b", "kind": "volume-migration", "state": "leased", "pool": "edge-b", "attempts": {"edge-b": 1},
           "leaseHolder": "ferry@127.0.0.1:25520#1", "leaseExpiresAt": 0, "reason": "exit 1\\nboom"}]}""");
    assertEquals("job w: running - 1 done, 1 running, 0 queued, 0 failed, 0 cancelled of 2; ETA 4 s", JobCommand.progress(job));
    String table = JobCommand.tasks(job);
    assertTrue(table.matches("(?s).*w/a\\s+command\\s+succeeded\\s+cloud\\s+edge-a:2 cloud:1\\s+-\\s+-\\s+succeeded.*"), table);
    assertTrue(table.contains("ferry@127.0.0.1:25520#1") && table.contains("1970-01-01T00:00:00Z") && table.contains("exit 1 boom"), table);
  }

  @Test
  void simulateRunsTheJobsWorkload(@TempDir Path tmp) {
    CliRun run = CliRun.of("simulate", "--workload", "jobs", "--seed", "7", "--out", tmp.toString());
    assertEquals(0, run.exit(), run::toString);
    assertTrue(run.out().contains("seed 7: PASS"), run::out);
    CliRun wrong = CliRun.of("simulate", "--workload", "jobs", "--no-dedup");
    assertEquals(2, wrong.exit(), wrong::toString);
  }
}
