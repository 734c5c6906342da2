package io.ferry.testkit;

import io.ferry.api.NodeStatus;
import io.ferry.api.SinkRows;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads a running query's in-cluster sink ({@code Query.collect}) on a thread of its own, through
 * whichever member is live, so a test can crash, move and replace members meanwhile; then compares
 * what it read with the query's {@link ReferenceRun} through the {@link OnceOnlyChecker}.
 *
 * <pre>{@code
 * try (SinkReader sink = SinkReader.start(cluster.cluster(), deployment.query(), "out")) {
 *   // move nodes, crash members ...
 *   sink.awaitDone(Duration.ofMinutes(2));
 *   sink.assertOnceOnly(ReferenceRun.run(graph, 1_000_000).get(new NodeId("out")));
 * }
 * }</pre>
 */
public final class SinkReader implements AutoCloseable {
  /** Rows asked for per read; the sink answers with at most this many. */
  private static final int BATCH_ROWS_MAX = 5000;
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(3);
  private static final long IDLE_MILLIS = 10;

  private final LocalCluster cluster;
  private final QueryId query;
  private final NodeId sink;
  private final List<Row> rows = new ArrayList<>();
  private final Thread reader;
  private volatile boolean done;
  private volatile boolean gap;
  private volatile boolean stop;

  private SinkReader(LocalCluster cluster, QueryId query, NodeId sink) {
    this.cluster = cluster;
    this.query = query;
    this.sink = sink;
    this.reader = new Thread(this::readLoop, "ferry-sink-reader-" + query.value() + "-" + sink.value());
    reader.setDaemon(true);
  }

  /** Starts reading {@code sink} of {@code query} from its first row. */
  public static SinkReader start(LocalCluster cluster, QueryId query, String sink) {
    SinkReader r = new SinkReader(cluster, query, new NodeId(sink));
    r.reader.start();
    return r;
  }

  private void readLoop() {
    long after = 0;
    while (!stop && !done) {
      SinkRows batch = null;
      for (FerryNode via : cluster.live()) {
        try {
          batch = via.ferry().read(query, sink, after, BATCH_ROWS_MAX).toCompletableFuture().get(ASK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
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
          TimeUnit.MILLISECONDS.sleep(IDLE_MILLIS);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** The rows read so far, in the order the sink delivered them. */
  public List<Row> rows() {
    synchronized (rows) {
      return List.copyOf(rows);
    }
  }

  /** Whether the sink has delivered its last row (all its sources ended) and this reader has read it. */
  public boolean done() {
    return done;
  }

  /** Output rows {@code node} of this query has produced so far (0 while no member can be asked). */
  public long outputOf(String node) {
    for (FerryNode via : cluster.live()) {
      try {
        return status(via, node).outputAnchor();
      } catch (Exception e) {
        // try the next member
      }
    }
    return 0;
  }

  /** {@code node}'s status, asked through the member {@code via}. */
  public NodeStatus status(FerryNode via, String node) throws Exception {
    return via.ferry().nodeStatus(query, new NodeId(node)).toCompletableFuture().get(ASK_TIMEOUT.toMillis() + 2000, TimeUnit.MILLISECONDS);
  }

  /** Waits until the sink has delivered its last row; fails the test when it has not within {@code timeout}. */
  public void awaitDone(Duration timeout) throws InterruptedException {
    reader.join(timeout.toMillis());
    if (!done) {
      throw new AssertionError("sink " + sink.value() + " of query " + query.value() + " did not finish within " + timeout + "; "
          + rows().size() + " rows read");
    }
  }

  /** Waits until another node of the query (e.g. a file sink) reports done. */
  public void awaitNodeDone(String node, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (FerryNode via : cluster.live()) {
        try {
          if (status(via, node).done()) {
            return;
          }
          break;
        } catch (Exception e) {
          // ask another member
        }
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    throw new AssertionError("node " + node + " of query " + query.value() + " did not finish within " + timeout);
  }

  /**
   * The sink must have delivered exactly {@code expected} (the reference run's rows for this
   * sink): nothing lost, nothing duplicated, nothing else; and no rows dropped before they were read.
   */
  public OnceOnlyChecker.Verdict assertOnceOnly(List<Row> expected) {
    if (gap) {
      throw new AssertionError("sink " + sink.value() + " dropped rows before they were read (its buffer overflowed)");
    }
    OnceOnlyChecker.Verdict v = OnceOnlyChecker.check(expected, rows());
    if (!v.ok()) {
      throw new AssertionError("in-cluster sink " + sink.value() + ": " + v);
    }
    return v;
  }

  @Override
  public void close() {
    stop = true;
    reader.interrupt();
  }
}
