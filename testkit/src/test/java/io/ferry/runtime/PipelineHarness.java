package io.ferry.runtime;

import io.ferry.api.Deployment;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.api.NodeStatus;
import io.ferry.testkit.OnceOnlyChecker;
import io.ferry.testkit.ReferenceRun;
import io.ferry.testkit.SampleQuery;
import io.ferry.testkit.SinkReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import io.ferry.placement.MigrationReport;

/** A running sample query under test: its in-cluster sink read by a {@link SinkReader}, its archive file checked too. */
final class PipelineHarness implements AutoCloseable {
  private static final Duration ARCHIVE_TIMEOUT = Duration.ofSeconds(60);

  private final SinkReader sink;

  PipelineHarness(LocalCluster cluster, Deployment deployment) {
    this.sink = SinkReader.start(cluster, deployment.query(), SampleQuery.SINK);
  }

  long outputOf(String node) {
    return sink.outputOf(node);
  }

  NodeStatus status(FerryNode via, String node) throws Exception {
    return sink.status(via, node);
  }

  /** Waits until the sink has delivered its last row and the archive file is complete. */
  void awaitDone(Duration timeout) throws Exception {
    sink.awaitDone(timeout);
    sink.awaitNodeDone(SampleQuery.ARCHIVE, ARCHIVE_TIMEOUT);
  }

  /** Both sinks must equal the reference run: nothing lost, nothing duplicated. */
  void assertOnceOnly(QueryGraph graph, Path archive) {
    List<Row> expected = ReferenceRun.run(graph, 10_000_000).get(new NodeId(SampleQuery.SINK));
    sink.assertOnceOnly(expected);
    OnceOnlyChecker.Verdict file = OnceOnlyChecker.check(expected, SampleQuery.readArchive(graph, archive));
    if (!file.ok()) {
      throw new AssertionError("file sink: " + file);
    }
  }

  /** Waits (at most 60 s) until {@code node} has output {@code rows} rows. */
  void awaitOutput(String node, long rows) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (outputOf(node) < rows) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(node + " did not produce " + rows + " rows");
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  /**
   * Waits (at most 60 s) until {@code node} answers, configured and not paused, from a member of
   * {@code site} (any member when null), asking a live member of {@code cluster}.
   */
  void awaitRunningAt(LocalCluster cluster, String node, String site) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        NodeStatus s = status(cluster.any(), node);
        boolean there = site == null || cluster.memberAt(s.address()).settings().site().equals(site);
        if (s.configured() && there && s.pausedBy().isEmpty()) {
          return;
        }
      } catch (Exception e) {
        // moving or recovering: ask again
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(node + " is not running" + (site == null ? "" : " at " + site));
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
  }

  /** Waits (at most 120 s) until the newest migration {@code via} reports satisfies {@code done}. */
  static MigrationReport awaitMigration(FerryNode via, Predicate<MigrationReport> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      try {
        Optional<MigrationReport> r = via.ferry().migrations().toCompletableFuture().get(5, TimeUnit.SECONDS).stream().findFirst();
        if (r.isPresent() && done.test(r.get())) {
          return r.get();
        }
      } catch (Exception e) {
        // the manager is busy or moving to another member: ask again
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
    throw new AssertionError("the migration did not reach the expected state");
  }

  @Override
  public void close() {
    sink.close();
  }
}
