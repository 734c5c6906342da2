package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.api.Deployment;
import io.ferry.api.SinkRows;
import io.ferry.api.NodeStatus;
import io.ferry.check.OnceOnlyChecker;
import io.ferry.check.ReferenceRun;
import io.ferry.cli.DemoAccess;
import io.ferry.cli.SampleQuery;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads a running sample query's in-cluster sink on a thread of its own through any live member,
 * so a test can crash, move and replace members meanwhile; then checks both sinks against the
 * reference run.
 */
final class PipelineHarness implements AutoCloseable {
  private final LocalCluster cluster;
  private final Deployment deployment;
  private final List<Row> rows = new ArrayList<>();
  private final Thread reader;
  private volatile boolean done;
  private volatile boolean gap;
  private volatile boolean stop;

  PipelineHarness(LocalCluster cluster, Deployment deployment) {
    this.cluster = cluster;
    this.deployment = deployment;
    this.reader = new Thread(this::readLoop, "sink-reader");
    reader.setDaemon(true);
    reader.start();
  }

  private void readLoop() {
    long after = 0;
    while (!stop && !done) {
      SinkRows batch = null;
      for (FerryNode via : cluster.live()) {
        try {
          batch = via.ferry().read(deployment.query(), new NodeId(SampleQuery.SINK), after, 5000)
              .toCompletableFuture().get(3, TimeUnit.SECONDS);
          break;
        } catch (Exception e) {
          // that member is going away or the sink is moving: try another, then again
        }
      }
      if (batch != null) {
        gap |= batch.gap();
        synchronized (rows) {
          rows.addAll(batch.rows());
        }
        after = batch.next();
        done = batch.done();
      }
      if (batch == null || batch.rows().isEmpty()) {
        try {
          TimeUnit.MILLISECONDS.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** Output rows a node has produced so far (0 while it cannot be asked). */
  long outputOf(String node) {
    for (FerryNode via : cluster.live()) {
      try {
        return status(via, node).outputAnchor();
      } catch (Exception e) {
        // try the next member
      }
    }
    return 0;
  }

  NodeStatus status(FerryNode via, String node) throws Exception {
    return via.ferry().nodeStatus(deployment.query(), new NodeId(node)).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  /** Waits until the sink has delivered its last row and the archive file is complete. */
  void awaitDone(Duration timeout) throws Exception {
    reader.join(timeout.toMillis());
    assertTrue(done, "the pipeline did not finish within " + timeout + "; " + rows.size() + " rows read");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (FerryNode via : cluster.live()) {
        try {
          if (status(via, SampleQuery.ARCHIVE).done()) {
            return;
          }
          break;
        } catch (Exception e) {
          // ask another member
        }
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    throw new AssertionError("the archive sink did not finish");
  }

  /** Both sinks must equal the reference run: nothing lost, nothing duplicated. */
  void assertOnceOnly(QueryGraph graph, Path archive) {
    assertTrue(!gap, "the sink dropped rows before they were read");
    List<Row> expected = ReferenceRun.run(graph, 10_000_000).get(new NodeId(SampleQuery.SINK));
    OnceOnlyChecker.Verdict sink;
    synchronized (rows) {
      sink = OnceOnlyChecker.check(expected, rows);
    }
    assertTrue(sink.ok(), "in-cluster sink: " + sink);
    OnceOnlyChecker.Verdict file = OnceOnlyChecker.check(expected, DemoAccess.readArchive(graph, archive));
    assertTrue(file.ok(), "file sink: " + file);
  }

  @Override
  public void close() {
    stop = true;
    reader.interrupt();
  }
}
