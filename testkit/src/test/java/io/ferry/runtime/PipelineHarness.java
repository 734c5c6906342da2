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

  @Override
  public void close() {
    sink.close();
  }
}
