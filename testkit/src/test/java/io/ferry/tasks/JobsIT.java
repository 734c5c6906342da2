package io.ferry.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.FerryException;
import io.ferry.api.JobStatus;
import io.ferry.api.TaskStatus;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.testkit.TestCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs on a three-site cluster in one JVM (five members: two at edge-a, two in the cloud): a job of
 * three volume migrations and command tasks,
 * each appending its task id and holder to a file, runs while a worker member and then the queue
 * host (the oldest member, where the singleton runs) crash. The job completes, every task ends
 * succeeded exactly once in the queue, and the only repeated lines come from attempts on a
 * crashed member (whose outcome could not be reported); an embedder's kind runs too.
 */
class JobsIT {
  private static final int TASKS = 30;
  private static final int VOLUMES = 3;
  private static final int VOLUME_BYTES = 1024 * 1024;

  @TempDir Path dir;

  @Test
  void aJobOfCommandsSurvivesAWorkerCrashAndAQueueHostCrash() throws Exception {
    Path out = dir.resolve("appended.txt");
    Files.createFile(out);
    try (TestCluster tc = TestCluster.builder(dir.resolve("data"))
        .site("cloud", Tier.CLOUD).site("edge-a", Tier.EDGE).site("edge-b", Tier.EDGE)
        .config(ConfigFactory.parseMap(Map.of("ferry.jobs.slots-max", 2, "ferry.jobs.replicas", 2, "ferry.jobs.volumes-per-link-max", 2)))
        .start()) {
      LocalCluster cluster = tc.cluster();
      // Five members, so that two crashes leave a majority for the split-brain resolver to keep.
      FerryNode extra = cluster.startMember("edge-a", "edge");
      cluster.startMember("cloud", "cloud");
      cluster.awaitAllUp(Duration.ofSeconds(60));
      FerryNode queueHost = tc.member("cloud"); // the seed: the oldest member hosts the singleton
      FerryNode entry = tc.member("edge-b");
      for (FerryNode n : cluster.live()) {
        n.ferry().registerTaskRunner(new Echo());
      }
      Ferry ferry = entry.ferry();

      // Bad input is refused at submit, with the reason.
      String unknown = refusal(ferry, new JobSpec(new JobId("bad"), List.of(TaskSpec.of("t", "rsync", Map.of(), 1, Duration.ofSeconds(5)))));
      assertTrue(unknown.contains("unknown kind 'rsync'"), unknown);
      String nowhere = refusal(ferry, new JobSpec(new JobId("bad"), List.of(
          TaskSpec.of("t", "command", Map.of("command", "true"), 1, Duration.ofSeconds(5)).withSite(Site.of("edge-z")))));
      assertTrue(nowhere.contains("no pool satisfies site edge-z"), nowhere);

      List<TaskSpec> tasks = new ArrayList<>();
      for (int i = 0; i < TASKS; i++) {
        tasks.add(TaskSpec.of("c" + i, "command",
            Map.of("command", "/bin/sh", "args", "-c\nsleep 1.5; echo \"$FERRY_TASK $FERRY_HOLDER $FERRY_LEASE\" >> " + out), 3, Duration.ofSeconds(3)));
      }
      tasks.add(TaskSpec.of("echo", "echo", Map.of("text", "hello"), 2, Duration.ofSeconds(3)).withTier(Tier.EDGE));
      // Volume migrations edge-b -> edge-a, at most two at once on that link (ferry.jobs.volumes-per-link-max).
      java.util.SplittableRandom random = new java.util.SplittableRandom(15);
      for (int v = 0; v < VOLUMES; v++) {
        byte[] image = new byte[VOLUME_BYTES];
        for (int i = 0; i < image.length; i += 8) {
          image[i] = (byte) random.nextInt(256); // not zero, not all alike: real blocks cross the link
        }
        Path img = dir.resolve("vol" + v + ".img");
        Files.write(img, image);
        tasks.add(TaskSpec.of("vol" + v, "volume-migration",
            Map.of("volume", "job-vol" + v, "sourceSite", "edge-b", "sourcePath", img.toString(), "targetSite", "edge-a"), 3, Duration.ofSeconds(5)));
      }
      JobSpec job = new JobSpec(new JobId("wave-1"), tasks);
      var accepted = ferry.submitJob(job).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertTrue(accepted.created());
      assertFalse(ferry.submitJob(job).toCompletableFuture().get(30, TimeUnit.SECONDS).created(), "a repeated submit is not queued twice");

      awaitDone(ferry, 2);
      Set<String> crashedHolders = new HashSet<>();
      crashedHolders.add(hostPort(extra));
      extra.crash();
      awaitDone(ferry, 5);
      crashedHolders.add(hostPort(queueHost));
      int doneBefore = ferry.job(new JobId("wave-1")).toCompletableFuture().get(30, TimeUnit.SECONDS).done();
      queueHost.crash();
      assertTrue(doneBefore < TASKS + 1 + VOLUMES, "the queue host must crash mid-job, " + doneBefore + " tasks were done");

      JobStatus done = awaitEnd(ferry, Duration.ofSeconds(120));
      assertEquals("succeeded", done.state(), done.toString());
      assertEquals(TASKS + 1 + VOLUMES, done.done());
      for (TaskStatus t : done.tasks()) {
        if (t.kind().equals("volume-migration")) {
          assertTrue(t.output().orElseThrow().contains("copied to edge-a: " + VOLUME_BYTES + " bytes"), t.toString());
        }
      }
      for (TaskStatus t : done.tasks()) {
        assertEquals("succeeded", t.state(), t.toString());
        assertTrue(t.attempts().values().stream().allMatch(n -> n <= 3), t.toString());
      }
      TaskStatus echo = done.tasks().stream().filter(t -> t.kind().equals("echo")).findFirst().orElseThrow();
      assertTrue(echo.pool().orElseThrow().startsWith("edge-"), echo.toString());
      assertEquals("hello", echo.output().orElseThrow());

      Map<String, List<String>> lines = new TreeMap<>();
      for (String line : Files.readAllLines(out)) {
        String[] f = line.split(" ");
        lines.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[1]);
      }
      assertEquals(TASKS, lines.size(), "every command ran: " + lines.keySet());
      lines.forEach((task, holders) -> {
        long fromLive = holders.stream().filter(h -> crashedHolders.stream().noneMatch(h::startsWith)).count();
        assertTrue(fromLive <= 1, task + " appended more than once by live members: " + holders);
      });
      System.out.println("JobsIT: queue host crashed with " + doneBefore + " of " + (TASKS + 1 + VOLUMES) + " tasks done; " + lines.values().stream().mapToInt(List::size).sum() + " lines for " + TASKS + " commands; crashed holders " + crashedHolders);
    }
  }

  private static String hostPort(FerryNode n) {
    return Cluster.get(n.system()).selfMember().address().hostPort();
  }

  private static String refusal(Ferry ferry, JobSpec job) throws Exception {
    try {
      ferry.submitJob(job).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertTrue(e.getCause() instanceof FerryException, e.toString());
      return e.getCause().getMessage();
    }
    throw new AssertionError("job " + job.id() + " was accepted");
  }

  private static void awaitDone(Ferry ferry, int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (ferry.job(new JobId("wave-1")).toCompletableFuture().get(30, TimeUnit.SECONDS).done() >= n) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("fewer than " + n + " tasks done in 60 s");
  }

  private static JobStatus awaitEnd(Ferry ferry, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    JobStatus last = null;
    while (System.nanoTime() < deadline) {
      try {
        last = ferry.job(new JobId("wave-1")).toCompletableFuture().get(30, TimeUnit.SECONDS);
        if (!last.state().equals("running")) {
          return last;
        }
      } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
        // the queue host is moving: ask again
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the job did not end in " + timeout + ": " + last);
  }

  /** An embedder's kind: answers its text parameter as output. */
  private static final class Echo implements TaskRunner {
    @Override
    public TaskKind kind() {
      return new TaskKind() {
        @Override
        public String name() {
          return "echo";
        }

        @Override
        public void validate(Map<String, String> parameters) {
          if (!parameters.containsKey("text")) {
            throw new IllegalArgumentException("parameter 'text' is missing");
          }
        }
      };
    }

    @Override
    public CompletionStage<Outcome> run(Context context) {
      return CompletableFuture.completedFuture(new Outcome.Succeeded(context.parameters().get("text")));
    }
  }
}
