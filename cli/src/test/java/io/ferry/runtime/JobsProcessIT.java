package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs with every member its own JVM process at three sites (two in the cloud, sharing the
 * embedded H2 journal through its auto-server): a job of commands, each appending its task id and
 * holder to a file, runs while the queue host (the oldest member) and then a worker member are
 * killed with SIGKILL. The job completes, every task ends succeeded once in the queue, and a
 * task's line is repeated only by an attempt on a killed member (its outcome could not be
 * reported; a killed JVM's child process runs to its end).
 */
class JobsProcessIT {
  private static final int TASKS = 30;

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void aJobSurvivesKill9OfAWorkerAndOfTheQueueHost() throws Exception {
    Path out = dir.resolve("appended.txt");
    Files.createFile(out);
    String conf = String.join("\n",
        // WRITE_DELAY=0: H2 otherwise keeps commits up to 500 ms before writing them, and the
        // member killed here serves the file, so acknowledged operations would die with it.
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.jobs.slots-max = 2");
    try (ProcessCluster c = new ProcessCluster(dir, conf)) {
      ProcessCluster.Member queueHost = c.start("cloud", "cloud");
      // The first member opens the H2 file and serves it; the others then connect to its server
      // (two processes opening the file at once would race for its lock).
      c.awaitUp(Duration.ofSeconds(90));
      ProcessCluster.Member entry = c.start("cloud", "cloud");
      ProcessCluster.Member worker = c.start("edge-a", "edge");
      c.start("edge-b", "edge");
      c.awaitUp(Duration.ofSeconds(90));

      ObjectNode job = json.createObjectNode().put("id", "wave").put("replicas", 2);
      ArrayNode tasks = job.putArray("tasks");
      for (int i = 0; i < TASKS; i++) {
        ObjectNode t = tasks.addObject().put("name", "c" + i).put("kind", "command").put("retryCount", 3).put("leaseMs", 3000);
        ObjectNode p = t.putObject("parameters").put("command", "/bin/sh");
        p.putArray("args").add("-c").add("sleep 1.5; echo \"$FERRY_TASK $FERRY_HOLDER\" >> " + out);
      }
      HttpResponse<String> submitted = post(entry, "/jobs", json.writeValueAsString(job));
      assertEquals(201, submitted.statusCode(), submitted.body());

      awaitDone(entry, 3, Duration.ofSeconds(60));
      int doneBefore = status(entry).path("done").asInt();
      c.kill(queueHost);
      // Nothing is leased or reported until the split-brain resolver has downed the dead host (5 s)
      // and the singleton has started on the next oldest member; then the worker dies too.
      awaitDone(entry, doneBefore + 2, Duration.ofSeconds(90));
      int doneAtWorkerKill = status(entry).path("done").asInt();
      assertTrue(doneAtWorkerKill < TASKS, "the worker must die mid-job; " + doneAtWorkerKill + " tasks were done");
      c.kill(worker);

      JsonNode end = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        Optional<JsonNode> s = tryStatus(entry);
        if (s.isPresent() && !s.get().path("state").asText().equals("running")) {
          end = s.get();
          break;
        }
        TimeUnit.MILLISECONDS.sleep(300);
      }
      assertTrue(end != null, "the job did not end in 120 s after the kills");
      assertEquals("succeeded", end.path("state").asText(), end.toString());
      assertEquals(TASKS, end.path("done").asInt(), end.toString());

      Map<String, List<String>> lines = new TreeMap<>();
      for (String line : Files.readAllLines(out)) {
        String[] f = line.split(" ");
        lines.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[1]);
      }
      assertEquals(TASKS, lines.size(), "every command ran: " + lines.keySet());
      List<String> killed = List.of(":" + worker.port() + "#", ":" + queueHost.port() + "#");
      lines.forEach((task, holders) -> {
        long fromLive = holders.stream().filter(h -> killed.stream().noneMatch(h::contains)).count();
        assertTrue(fromLive <= 1, task + " appended more than once by live members: " + holders);
      });
      System.out.printf("JobsProcessIT: queue host killed with %d of %d tasks done, worker with %d; %d lines for %d commands%n",
          doneBefore, TASKS, doneAtWorkerKill, lines.values().stream().mapToInt(List::size).sum(), TASKS);
    }
  }

  private void awaitDone(ProcessCluster.Member m, int n, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (tryStatus(m).map(s -> s.path("done").asInt() >= n).orElse(false)) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(200);
    }
    throw new AssertionError("fewer than " + n + " tasks done within " + timeout);
  }

  private JsonNode status(ProcessCluster.Member m) throws Exception {
    return tryStatus(m).orElseThrow(() -> new AssertionError("no job status from " + m.url()));
  }

  private Optional<JsonNode> tryStatus(ProcessCluster.Member m) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.url() + "/jobs/wave")).timeout(Duration.ofSeconds(15)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(json.readTree(r.body())) : Optional.empty();
    } catch (Exception e) {
      return Optional.empty(); // the queue host is moving
    }
  }

  private HttpResponse<String> post(ProcessCluster.Member m, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
