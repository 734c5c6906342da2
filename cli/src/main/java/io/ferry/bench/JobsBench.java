package io.ferry.bench;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.api.JobStatus;
import io.ferry.api.TaskStatus;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.tasks.JobId;
import io.ferry.tasks.JobQueueHost;
import io.ferry.tasks.JobSpec;
import io.ferry.tasks.Outcome;
import io.ferry.tasks.TaskKind;
import io.ferry.tasks.TaskRunner;
import io.ferry.tasks.TaskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-jobs}: a job of N tasks over three pools (one member per site, in one JVM, on
 * the embedded H2 journal), a share of attempts failing, and one pool's member crashed midway.
 * Reports tasks/s, lease operations/s (leases granted, renewals and results, each persisted and
 * replicated), the time from the pool's death until every task it held runs elsewhere (or has
 * ended), and the retries spent.
 */
@Command(name = "bench-jobs", description = "Benchmarks the job queue: tasks/s, lease operations/s, re-lease time after a pool dies, retries.")
public final class JobsBench implements Callable<Integer> {
  private static final int TASKS_MAX = 100_000;

  @Option(names = "--tasks", paramLabel = "N", description = "tasks in the job (default ${DEFAULT-VALUE})")
  int tasks = 1000;

  @Option(names = "--fail", paramLabel = "RATIO", description = "share of attempts that fail (default ${DEFAULT-VALUE})")
  double failRatio = 0.10;

  @Option(names = "--lease-ms", paramLabel = "MS", description = "lease duration (default ${DEFAULT-VALUE})")
  long leaseMs = 2000;

  @Option(names = "--task-ms", paramLabel = "MS", description = "how long one attempt runs (default ${DEFAULT-VALUE})")
  long taskMs = 20;

  @Option(names = "--slots", paramLabel = "N", description = "task slots per member (default ${DEFAULT-VALUE})")
  int slots = 16;

  @Option(names = "--tick-ms", paramLabel = "MS", description = "how often a worker leases, renews and checks deadlines (default ${DEFAULT-VALUE})")
  long tickMs = 20;

  @Option(names = "--seed", paramLabel = "N", description = "seed of the failing attempts (default ${DEFAULT-VALUE})")
  long seed = 1;

  @Override
  public Integer call() throws Exception {
    if (tasks < 1 || tasks > TASKS_MAX || failRatio < 0 || failRatio >= 1 || slots < 1) {
      throw new IllegalArgumentException("--tasks 1.." + TASKS_MAX + ", --fail in [0, 1), --slots >= 1");
    }
    Path dir = Files.createTempDirectory("ferry-jobs-bench");
    Map<String, String> sites = new LinkedHashMap<>();
    sites.put("cloud", "cloud");
    sites.put("edge-a", "edge");
    sites.put("edge-b", "edge");
    var config = ConfigFactory.parseMap(Map.of("ferry.jobs.slots-max", slots, "ferry.jobs.slots-min", slots, "ferry.http.enabled", "off",
        "ferry.jobs.worker-tick", tickMs + "ms"));
    System.out.printf("ferry jobs benchmark: %d tasks of %d ms over 3 pools (%d slots each), %.0f %% of attempts failing, lease %d ms, H2 journal, replicas 2%n",
        tasks, taskMs, slots, failRatio * 100, leaseMs);
    try (LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, config, Duration.ofSeconds(60))) {
      SplittableRandom random = new SplittableRandom(seed);
      for (FerryNode n : cluster.live()) {
        n.ferry().registerTaskRunner(new Sleeper(n, taskMs, failRatio, random.split()));
      }
      Ferry ferry = cluster.member("cloud").ferry();
      List<TaskSpec> specs = new ArrayList<>();
      for (int i = 0; i < tasks; i++) {
        specs.add(TaskSpec.of("t" + i, "bench", Map.of(), 3, Duration.ofMillis(leaseMs)));
      }
      JobId id = new JobId("bench");
      long start = System.nanoTime();
      ferry.submitJob(new JobSpec(id, specs)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      // Progress from the queue's counters: a full job status is 1,000 task views, too heavy to poll fast.
      JobQueueHost.StatsReply half;
      while ((half = ferry.jobQueueStats().toCompletableFuture().get(30, TimeUnit.SECONDS)).stats().completions() < tasks / 2) {
        Thread.sleep(20);
      }
      double halfSecs = (System.nanoTime() - start) / 1e9;
      JobStatus st = ferry.job(id).toCompletableFuture().get(30, TimeUnit.SECONDS);
      long killedAt = System.nanoTime();
      cluster.member("edge-b").crash();
      // What the dead pool still held once it was gone (an attempt may have reported while the member stopped).
      st = ferry.job(id).toCompletableFuture().get(30, TimeUnit.SECONDS);
      Set<String> held = st.tasks().stream().filter(t -> t.pool().orElse("").equals("edge-b") && t.state().equals("leased"))
          .map(TaskStatus::id).collect(Collectors.toSet());
      long relocatedAt = 0;
      Map<String, Boolean> moved = new HashMap<>();
      while (true) {
        st = ferry.job(id).toCompletableFuture().get(30, TimeUnit.SECONDS);
        for (TaskStatus t : st.tasks()) {
          boolean elsewhere = t.state().equals("leased") && !t.pool().orElse("").equals("edge-b");
          boolean ended = !t.state().equals("leased") && !t.state().equals("queued");
          if (held.contains(t.id()) && (elsewhere || ended)) {
            moved.put(t.id(), true);
          }
        }
        if (relocatedAt == 0 && moved.size() == held.size()) {
          relocatedAt = System.nanoTime();
        }
        if (!st.state().equals("running")) {
          break;
        }
        Thread.sleep(relocatedAt == 0 ? 50 : 250);
      }
      double secs = (System.nanoTime() - start) / 1e9;
      JobQueueHost.StatsReply stats = ferry.jobQueueStats().toCompletableFuture().get(30, TimeUnit.SECONDS);
      var s = stats.stats();
      long leaseOps = s.leasesGranted() + s.renewals() + s.completions();
      System.out.printf("job %s in %.2f s: %d succeeded, %d failed, %d cancelled%n", st.state(), secs, st.done(), st.failed(), st.cancelled());
      System.out.printf("tasks/s              %.0f%n", tasks / secs);
      System.out.printf("lease operations/s   %.0f  (%d leases granted, %d renewals, %d results; %d queue operations persisted in %d journal writes)%n",
          leaseOps / secs, s.leasesGranted(), s.renewals(), s.completions(), stats.operations(), stats.writes());
      var h = half.stats();
      // The whole job includes the lease duration that the dead pool's tasks wait out; the first
      // half, all three pools running, is the queue's own rate.
      System.out.printf("first half            %.0f tasks/s, %.0f lease operations/s (submit until %d results, %.2f s, before the kill)%n",
          h.completions() / halfSecs, (h.leasesGranted() + h.renewals() + h.completions()) / halfSecs, h.completions(), halfSecs);
      System.out.printf("pool edge-b killed   holding %d tasks; all running elsewhere or ended after %s (goal: lease %d ms + 1 s)%n",
          held.size(), relocatedAt == 0 ? "never" : String.format("%.2f s", (relocatedAt - killedAt) / 1e9), leaseMs);
      System.out.printf("retries spent        %d  (%d expiries, %d reassignments to another pool)%n", s.retries(), s.expiries(), s.reassignments());
    } finally {
      BenchFiles.deleteTree(dir);
    }
    return 0;
  }


  /** The bench kind: waits {@code taskMs} on the member's scheduler, then fails a seeded share of attempts. */
  private static final class Sleeper implements TaskRunner {
    private final FerryNode node;
    private final long taskMs;
    private final double failRatio;
    private final SplittableRandom random;

    Sleeper(FerryNode node, long taskMs, double failRatio, SplittableRandom random) {
      this.node = node;
      this.taskMs = taskMs;
      this.failRatio = failRatio;
      this.random = random;
    }

    @Override
    public TaskKind kind() {
      return new TaskKind() {
        @Override
        public String name() {
          return "bench";
        }

        @Override
        public void validate(Map<String, String> parameters) {
          if (!parameters.isEmpty()) {
            throw new IllegalArgumentException("the bench kind takes no parameters");
          }
        }
      };
    }

    @Override
    public CompletionStage<Outcome> run(Context context) {
      boolean fail;
      synchronized (random) {
        fail = random.nextDouble() < failRatio;
      }
      CompletableFuture<Outcome> f = new CompletableFuture<>();
      var system = node.system();
      system.scheduler().scheduleOnce(Duration.ofMillis(taskMs),
          () -> f.complete(fail ? new Outcome.Failed("bench failure") : new Outcome.Succeeded("")), system.executionContext());
      return f;
    }
  }
}
