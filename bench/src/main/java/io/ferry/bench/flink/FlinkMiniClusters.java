package io.ferry.bench.flink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/** The Flink peers' common set-up: one MiniCluster with exactly-once checkpoints, and the stop-with-savepoint and restore they measure. */
final class FlinkMiniClusters {
  /** Limit on one stop-with-savepoint, request to terminated job. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
  /** Limit from a job's submission (or the old job's end) to the probe's first record. */
  static final Duration RESTORE_TIMEOUT = Duration.ofSeconds(120);
  /** Limit on one call to the MiniCluster (submit, status, cancel). */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
  /** How often a wait for a probe asks whether the job has ended. */
  static final Duration STATUS_POLL_INTERVAL = Duration.ofMillis(50);

  private FlinkMiniClusters() {}

  /** Exactly-once checkpoints every {@code interval} into {@code dir}, the hashmap backend, savepoints beside them, no restarts. */
  static Configuration exactlyOnce(Path dir, Duration interval) {
    Configuration config = new Configuration();
    config.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, interval);
    config.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
    config.set(StateBackendOptions.STATE_BACKEND, "hashmap");
    config.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    config.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.resolve("checkpoints").toUri().toString());
    config.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, dir.resolve("savepoints").toUri().toString());
    // A failure must end the run with its cause, not be hidden by restarts inside a measurement.
    config.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    return config;
  }

  /** A started MiniCluster of one TaskManager with {@code slots} slots. */
  static MiniCluster start(Configuration config, int slots) throws Exception {
    MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
        .setConfiguration(config)
        .setNumTaskManagers(1)
        .setNumSlotsPerTaskManager(slots)
        .build());
    cluster.start();
    return cluster;
  }

  static void submit(MiniCluster cluster, JobGraph graph) throws Exception {
    cluster.submitJob(graph).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  static void cancel(MiniCluster cluster, JobID job) throws Exception {
    cluster.cancelJob(job).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A job stopped with a savepoint: where the savepoint is, and when the stop began and the job had ended. */
  record Stopped(String savepoint, long startedNanos, long endedNanos) {
    long nanos() {
      return endedNanos - startedNanos;
    }
  }

  /** Stops {@code job} with a canonical savepoint under {@code savepoints} and waits for it to end cleanly; {@code what} names it in errors. */
  static Stopped stopWithSavepoint(MiniCluster cluster, JobID job, Path savepoints, String what) throws Exception {
    long started = System.nanoTime();
    String savepoint = cluster.stopWithSavepoint(job, savepoints.toUri().toString(), false, SavepointFormatType.CANONICAL)
        .get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    long remaining = STOP_TIMEOUT.toNanos() - (System.nanoTime() - started);
    JobResult stopped = cluster.requestJobResult(job).get(Math.max(remaining, 0), TimeUnit.NANOSECONDS);
    if (!stopped.isSuccess()) {
      throw new IllegalStateException(what + ": job " + job + " did not finish cleanly after stop-with-savepoint: "
          + stopped.getApplicationStatus(), stopped.getSerializedThrowable().orElse(null));
    }
    return new Stopped(savepoint, started, System.nanoTime());
  }

  /** Submits {@code graph} restored from {@code savepoint}. */
  static void restore(MiniCluster cluster, JobGraph graph, String savepoint) throws Exception {
    graph.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(savepoint, false));
    submit(cluster, graph);
  }

  /**
   * Waits for {@code probe}'s first record since its last reset and returns its time; fails with the
   * job's cause if the job ends first, or after {@link #RESTORE_TIMEOUT} from {@code since}.
   */
  static long awaitProbe(MiniCluster cluster, JobID job, AtomicLong probe, long since, String what) throws Exception {
    long deadline = since + RESTORE_TIMEOUT.toNanos();
    long nextStatusCheck = System.nanoTime();
    while (true) {
      long at = probe.get();
      if (at != 0) {
        return at;
      }
      long now = System.nanoTime();
      if (now - deadline > 0) {
        throw new TimeoutException(what + " did not arrive within " + RESTORE_TIMEOUT + " (job " + job + ")");
      }
      if (now - nextStatusCheck >= 0) {
        JobStatus status = cluster.getJobStatus(job).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (status.isTerminalState()) {
          JobResult result = cluster.requestJobResult(job).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
          throw new IllegalStateException("job " + job + " ended (" + status + ") while waiting for " + what,
              result.getSerializedThrowable().orElse(null));
        }
        nextStatusCheck = now + STATUS_POLL_INTERVAL.toNanos();
      }
      // The probe holds the exact arrival time; polling at 0.1 ms only bounds how soon we see it.
      Thread.sleep(0, 100_000);
    }
  }

  static void deleteTree(Path root) {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete " + root, e);
    }
  }
}
