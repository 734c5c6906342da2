package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ferry.simulator.check.RetryCountCheck;
import io.ferry.simulator.check.TaskEndCheck;
import io.ferry.simulator.check.TaskHolderCheck;
import io.ferry.simulator.check.TaskLossCheck;
import io.ferry.simulator.report.RunReport;
import io.ferry.transport.nbd.NbdClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mass migration as a job, every member its own JVM (five: two in the cloud, two at edge-a, one
 * at edge-b, sharing the embedded H2 journal): {@value #VOLUMES_DEFAULT} volume migrations between
 * the three sites plus commands, while an edge-a worker and then the queue host (the oldest
 * member) are killed with SIGKILL. Afterwards every task has succeeded exactly once, every target
 * serves over NBD exactly the bytes of its source image, and the simulator's four jobs checkers
 * hold on the real run's history: the final queue (nothing acknowledged lost, every task ended)
 * and the workers' own log lines (the leases each received, and when each attempt started and
 * stopped: no two overlap, no pool above the retry count).
 *
 * <p>Takes about two minutes on two cores, so it runs only with {@code -DjobProcesses}; {@code
 * -Dferry.mass.volumes} and {@code -Dferry.mass.volumeMiB} size it.
 */
class MassMigrationProcessIT {
  private static final int VOLUMES_DEFAULT = 24;
  private static final int COMMANDS = 12;
  private static final int RETRY_COUNT = 3;
  private static final List<String[]> LINKS = List.of(
      new String[] {"edge-a", "cloud"}, new String[] {"edge-b", "cloud"}, new String[] {"cloud", "edge-a"},
      new String[] {"edge-b", "edge-a"}, new String[] {"cloud", "edge-b"}, new String[] {"edge-a", "edge-b"});
  /** {@code HH:mm:ss.SSS LEVEL logger - task=J/N ...}: the worker's lines about one attempt. */
  private static final Pattern LINE = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) \\S+\\s+\\S+ - task=(\\S+) (.*)$");
  private static final Pattern LEASED = Pattern.compile("kind=\\S+ leased by (\\S+) \\(lease (\\d+), pool (\\S+)\\)");
  private static final Pattern ENDED = Pattern.compile("attempt under lease (\\d+) ended: (\\w+).*");
  private static final Pattern STOPPED = Pattern.compile("lease (\\d+) (?:not renewed in time|lost): .*");

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void aMassMigrationJobSurvivesKill9OfAWorkerAndOfTheQueueHost() throws Exception {
    int volumes = Integer.getInteger("ferry.mass.volumes", VOLUMES_DEFAULT);
    int volumeBytes = Integer.getInteger("ferry.mass.volumeMiB", 4) << 20;
    long started = System.nanoTime();
    Path out = dir.resolve("appended.txt");
    Files.createFile(out);
    String conf = String.join("\n",
        // WRITE_DELAY=0: the member killed first serves the H2 file; see JobsProcessIT.
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.jobs.slots-max = 3",
        "ferry.jobs.volumes-per-site-max = 6",
        "ferry.jobs.volumes-per-link-max = 3",
        "pekko.remote.artery.bind.bind-timeout = 30s",
        // Five JVMs on two cores shared with other builds miss heartbeats in bursts; a loaded run
        // saw the resolver take that for instability and down every member. The kills here are
        // clean crashes, which the resolver still downs (keep-majority).
        "pekko.cluster.split-brain-resolver.down-all-when-unstable = off");
    // The workers' INFO lines are the history the holder and retry checkers read.
    try (ProcessCluster c = new ProcessCluster(dir, conf, Map.of("FERRY_LOG", "INFO"))) {
      ProcessCluster.Member queueHost = c.start("cloud", "cloud");
      c.awaitUp(Duration.ofSeconds(90));
      // One at a time: five JVMs starting at once on two busy cores time out binding their ports.
      ProcessCluster.Member entry = c.start("cloud", "cloud");
      c.awaitUp(Duration.ofSeconds(90));
      ProcessCluster.Member worker = c.start("edge-a", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      c.start("edge-a", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      c.start("edge-b", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      long upAt = System.nanoTime();

      Map<String, byte[]> images = new LinkedHashMap<>();
      ObjectNode job = json.createObjectNode().put("id", "mass").put("replicas", 2);
      ArrayNode tasks = job.putArray("tasks");
      SplittableRandom random = new SplittableRandom(15);
      for (int v = 0; v < volumes; v++) {
        byte[] image = new byte[volumeBytes];
        for (int i = 0; i < image.length; i += 4) {
          image[i] = (byte) random.nextInt(256); // neither zero nor alike: real blocks cross every link
        }
        String name = "mvol" + v;
        Path img = dir.resolve(name + ".img");
        Files.write(img, image);
        images.put(name, image);
        String[] link = LINKS.get(v % LINKS.size());
        tasks.addObject().put("name", name).put("kind", "volume-migration").put("retryCount", RETRY_COUNT).put("leaseMs", 5000)
            .putObject("parameters").put("volume", name).put("sourceSite", link[0]).put("sourcePath", img.toString()).put("targetSite", link[1]);
      }
      for (int i = 0; i < COMMANDS; i++) {
        ObjectNode t = tasks.addObject().put("name", "c" + i).put("kind", "command").put("retryCount", RETRY_COUNT).put("leaseMs", 3000);
        t.putObject("parameters").put("command", "/bin/sh")
            .putArray("args").add("-c").add("sleep 1; echo \"$FERRY_TASK $FERRY_HOLDER $FERRY_LEASE\" >> " + out);
      }
      int total = volumes + COMMANDS;
      HttpResponse<String> submitted = post(entry, "/jobs", json.writeValueAsString(job));
      assertEquals(201, submitted.statusCode(), submitted.body());
      Set<String> acknowledged = new TreeSet<>();
      for (JsonNode t : tasks) {
        acknowledged.add("mass/" + t.path("name").asText());
      }

      // The worker first, then the queue host. Either kill leaves volumes copied with their tasks
      // unreported; the later kill then moves such a frontend (COPIED) to another member of its
      // site, with a store of its own. Until VolumeMigration waited for that store to hold every
      // block before telling the backend, the backend stopped and the job stalled (docs/jobs.md).
      awaitDone(entry, 4, Duration.ofSeconds(120));
      int doneAtWorkerKill = status(entry).path("done").asInt();
      assertTrue(doneAtWorkerKill < total, "the worker must die mid-job; " + doneAtWorkerKill + " tasks were done");
      long workerKilledAt = msOfDay();
      c.kill(worker);
      awaitDone(entry, doneAtWorkerKill + 4, Duration.ofSeconds(120));
      int doneAtHostKill = status(entry).path("done").asInt();
      assertTrue(doneAtHostKill < total, "the queue host must die mid-job; " + doneAtHostKill + " tasks were done");
      long hostKilledAt = msOfDay();
      c.kill(queueHost);

      JsonNode end;
      try {
        end = awaitEnd(entry, Duration.ofSeconds(240));
      } catch (AssertionError e) {
        // Say where each unfinished volume stands: a stall in the block layer shows here.
        StringBuilder stuck = new StringBuilder(e.getMessage());
        for (JsonNode t : tryStatus(entry).map(st -> st.path("tasks")).orElse(json.createArrayNode())) {
          if (t.path("kind").asText().equals("volume-migration") && !t.path("state").asText().equals("succeeded")) {
            String v = t.path("id").asText().substring("mass/".length());
            JsonNode vs = c.get(entry, "/volumes/" + v).orElse(json.createObjectNode());
            stuck.append("\n").append(v).append(": task ").append(t.path("state").asText()).append(", phase ").append(vs.path("phase").asText())
                .append(", frontend ").append(vs.path("frontendMember").asText()).append(" ").append(vs.path("frontend").path("blocksPresent").asLong())
                .append("/").append(vs.path("frontend").path("blockCount").asLong()).append(" blocks, ref misses ").append(vs.path("frontend").path("refMisses").asLong())
                .append(", backend ").append(vs.path("backendMember").asText()).append(" complete ").append(vs.path("backend").path("complete").asBoolean())
                .append(" frames sent ").append(vs.path("backend").path("framesSent"));
          }
        }
        throw new AssertionError(stuck.toString(), e);
      }
      long endedAt = System.nanoTime();
      assertEquals("succeeded", end.path("state").asText(), end.toString());
      assertEquals(total, end.path("done").asInt(), end.toString());

      // Every target serves its source's bytes, read over NBD from the target site's member.
      for (var e : images.entrySet()) {
        JsonNode vs = c.get(entry, "/volumes/" + e.getKey()).orElseThrow(() -> new AssertionError("no status of volume " + e.getKey()));
        assertTrue(vs.path("frontend").path("complete").asBoolean(), vs.toString());
        URI nbd = URI.create(vs.path("nbdUrl").asText());
        try (NbdClient client = NbdClient.connect(nbd.getHost(), nbd.getPort(), e.getKey(), Duration.ofSeconds(30))) {
          assertEquals(e.getValue().length, client.sizeBytes(), e.getKey());
          assertArrayEquals(e.getValue(), client.read(0, e.getValue().length), e.getKey() + " read over NBD at its target differs from its source image");
        }
      }

      // The checkers, on the final queue and on the workers' history.
      Map<String, String> killedAt = Map.of(":" + queueHost.port() + "#", "host", ":" + worker.port() + "#", "worker");
      Map<String, Long> killTime = Map.of("host", hostKilledAt, "worker", workerKilledAt);
      History h = history(c, killedAt, killTime, msOfDay());
      Map<String, TaskEndCheck.End> ends = new TreeMap<>();
      Map<String, Integer> retryCounts = new HashMap<>();
      for (JsonNode t : end.path("tasks")) {
        ends.put(t.path("id").asText(), new TaskEndCheck.End(t.path("state").asText().toUpperCase(java.util.Locale.ROOT),
            Optional.ofNullable(t.path("reason").textValue())));
        retryCounts.put(t.path("id").asText(), RETRY_COUNT);
        t.path("attempts").fields().forEachRemaining(a ->
            assertTrue(a.getValue().asInt() <= RETRY_COUNT, t.path("id").asText() + ": the queue counts " + a.getValue() + " attempts on " + a.getKey()));
      }
      List<RunReport.Verdict> verdicts = List.of(
          TaskLossCheck.check(acknowledged, ends.keySet()),
          TaskHolderCheck.check(h.runs()),
          RetryCountCheck.check(h.attempts(), retryCounts),
          TaskEndCheck.check(ends));
      verdicts.forEach(v -> System.out.println("MassMigrationProcessIT checker " + v.checker() + ": " + (v.ok() ? "ok" : "FAILED") + " - " + v.detail()));
      verdicts.forEach(v -> assertTrue(v.ok(), v.checker() + ": " + v.detail()));
      for (String task : acknowledged) {
        assertEquals("SUCCEEDED", ends.get(task).state(), task);
        // A success on a killed member may have died unreported and run again; on the members
        // that lived, a task succeeds once at most.
        List<String> holders = h.successes().getOrDefault(task, List.of());
        long liveSuccesses = holders.stream().filter(holder -> killedAt.keySet().stream().noneMatch(holder::contains)).count();
        assertTrue(!holders.isEmpty() && liveSuccesses <= 1, task + " succeeded on " + holders);
      }
      Map<String, List<String>> lines = new TreeMap<>();
      for (String line : Files.readAllLines(out)) {
        String[] f = line.split(" ");
        lines.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[1]);
      }
      assertEquals(COMMANDS, lines.size(), "every command ran: " + lines.keySet());
      lines.forEach((task, holders) -> assertTrue(
          holders.stream().filter(hd -> killedAt.keySet().stream().noneMatch(hd::contains)).count() <= 1, task + " appended more than once by live members: " + holders));

      long relet = h.attempts().size() - total;
      System.out.printf("MassMigrationProcessIT: %d volumes of %d MiB + %d commands over 3 sites; cluster up in %.1f s, job %.1f s after it; "
              + "worker killed at %d done, queue host at %d done; %d leases received for %d tasks (%d re-leased), %d worker runs%n",
          volumes, volumeBytes >> 20, COMMANDS, (upAt - started) / 1e9, (endedAt - upAt) / 1e9, doneAtWorkerKill, doneAtHostKill,
          h.attempts().size(), total, relet, h.runs().size());
    }
  }

  /**
   * What the workers' logs say happened: every lease a worker received, each attempt's run from
   * receiving its lease to its end (its end line, its stop line, or its member's kill), and which
   * holders saw each task's attempt succeed.
   */
  private record History(List<RetryCountCheck.Attempt> attempts, List<TaskHolderCheck.Run> runs, Map<String, List<String>> successes) {}

  private static History history(ProcessCluster c, Map<String, String> killedAt, Map<String, Long> killTime, long nowMs) throws Exception {
    List<RetryCountCheck.Attempt> attempts = new ArrayList<>();
    List<TaskHolderCheck.Run> runs = new ArrayList<>();
    Map<String, List<String>> successes = new TreeMap<>();
    for (ProcessCluster.Member m : c.all()) {
      String holder = null;
      // task|epoch -> [start, pool] of this member's open runs
      Map<String, Object[]> open = new LinkedHashMap<>();
      for (String line : Files.readAllLines(m.log())) {
        Matcher l = LINE.matcher(line);
        if (!l.matches()) {
          continue;
        }
        long at = LocalTime.parse(l.group(1)).toNanoOfDay() / 1_000_000;
        String task = l.group(2);
        Matcher leased = LEASED.matcher(l.group(3));
        Matcher ended = ENDED.matcher(l.group(3));
        Matcher stopped = STOPPED.matcher(l.group(3));
        if (leased.matches()) {
          holder = leased.group(1);
          attempts.add(new RetryCountCheck.Attempt(task, leased.group(3), Long.parseLong(leased.group(2))));
          open.put(task + "|" + leased.group(2), new Object[] {at, leased.group(3)});
        } else if (ended.matches() || stopped.matches()) {
          String epoch = ended.matches() ? ended.group(1) : stopped.group(1);
          Object[] run = open.remove(task + "|" + epoch);
          if (run != null) {
            runs.add(new TaskHolderCheck.Run(task, (String) run[1], holder, Long.parseLong(epoch), (Long) run[0], at));
          }
          if (ended.matches() && ended.group(2).equals("Succeeded")) {
            successes.computeIfAbsent(task, k -> new ArrayList<>()).add(holder);
          }
        }
      }
      String h = holder;
      long stop = h == null ? nowMs : killedAt.entrySet().stream().filter(e -> h.contains(e.getKey())).map(e -> killTime.get(e.getValue())).findFirst().orElse(nowMs);
      open.forEach((key, run) -> runs.add(new TaskHolderCheck.Run(key.substring(0, key.indexOf('|')), (String) run[1], h,
          Long.parseLong(key.substring(key.indexOf('|') + 1)), (Long) run[0], Math.max((Long) run[0], stop))));
    }
    return new History(attempts, runs, successes);
  }

  private static long msOfDay() {
    return LocalTime.now().toNanoOfDay() / 1_000_000;
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

  private JsonNode awaitEnd(ProcessCluster.Member m, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    Optional<JsonNode> last = Optional.empty();
    while (System.nanoTime() < deadline) {
      Optional<JsonNode> s = tryStatus(m);
      if (s.isPresent()) {
        last = s;
        if (!s.get().path("state").asText().equals("running")) {
          return s.get();
        }
      }
      TimeUnit.MILLISECONDS.sleep(300);
    }
    throw new AssertionError("the job did not end within " + timeout + " after the kills: " + last.map(JsonNode::toString).orElse("no status"));
  }

  private JsonNode status(ProcessCluster.Member m) {
    return tryStatus(m).orElseThrow(() -> new AssertionError("no job status from " + m.url()));
  }

  private Optional<JsonNode> tryStatus(ProcessCluster.Member m) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.url() + "/jobs/mass")).timeout(Duration.ofSeconds(15)).GET().build(),
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
