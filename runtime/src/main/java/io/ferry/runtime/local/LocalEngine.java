package io.ferry.runtime.local;

import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.ops.Operator;
import io.ferry.query.ops.Operators;
import io.ferry.query.ops.SourceReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.ClosedShape;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.SinkShape;
import org.apache.pekko.stream.UniformFanInShape;
import org.apache.pekko.stream.UniformFanOutShape;
import org.apache.pekko.stream.javadsl.Broadcast;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.GraphDSL;
import org.apache.pekko.stream.javadsl.Merge;
import org.apache.pekko.stream.javadsl.RunnableGraph;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The local engine: runs a graph spec in one process as a Pekko Streams graph, with no cluster,
 * journal or sites (a laptop, a test, a single edge box). Each node is a stream stage calling the
 * same operator classes a logic node calls, so both engines compute the same results; there are no
 * moves and no once-only guarantees across a crash (a local run is restarted from its sources).
 */
public final class LocalEngine {
  /** Rows a source reads per batch: the unit that flows between stages. */
  public static final int BATCH_ROWS_DEFAULT = 1024;

  private LocalEngine() {}

  /** What a run gives back: each sink's rows as they arrived (an in-cluster sink's; file sinks write their file). */
  public record Result(Map<NodeId, List<Row>> sinks) {}

  /** A started run: its result once every source has ended, and a way to stop an endless one. */
  public record Run(CompletionStage<Result> result, SharedKillSwitch killSwitch) {
    public void stop() {
      killSwitch.shutdown();
    }
  }

  /** One element between stages: a batch of rows from input {@code input}, or that input's end. */
  private record Tagged(int input, List<Row> rows, boolean end) {}

  /** Starts {@code graph} on {@code system}'s materializer. The graph is checked first, as a deploy would. */
  public static Run start(QueryGraph graph, ActorSystem<?> system) {
    return start(graph, system, BATCH_ROWS_DEFAULT);
  }

  public static Run start(QueryGraph graph, ActorSystem<?> system, int batchRows) {
    if (batchRows < 1) {
      throw new IllegalArgumentException("local engine: batchRows must be positive, got " + batchRows);
    }
    List<NodeSpec> specs = graph.compile();
    SharedKillSwitch kill = KillSwitches.shared("local-" + graph.id());
    Map<NodeId, List<Row>> collected = new LinkedHashMap<>();
    List<NodeSpec> sinks = new ArrayList<>();
    for (NodeSpec s : specs) {
      if (s.op().isSink()) {
        sinks.add(s);
        collected.put(s.id(), Collections.synchronizedList(new ArrayList<>()));
      }
    }
    List<Sink<List<Row>, CompletionStage<Done>>> sinkStages = new ArrayList<>();
    for (NodeSpec s : sinks) {
      List<Row> into = collected.get(s.id());
      sinkStages.add(Sink.foreach(into::addAll));
    }
    RunnableGraph<List<CompletionStage<Done>>> runnable =
        RunnableGraph.fromGraph(
            GraphDSL.create(
                sinkStages,
                (b, sinkShapes) -> {
                  Map<NodeId, UniformFanOutShape<List<Row>, List<Row>>> fanOut = new HashMap<>();
                  Map<NodeId, Integer> used = new HashMap<>();
                  Map<NodeId, SinkShape<List<Row>>> sinkOf = new HashMap<>();
                  for (int i = 0; i < sinks.size(); i++) {
                    sinkOf.put(sinks.get(i).id(), sinkShapes.get(i));
                  }
                  for (NodeSpec spec : specs) {
                    Outlet<List<Row>> out;
                    if (spec.op().isSource()) {
                      out = b.add(source(spec, batchRows).filter(rows -> !rows.isEmpty()).via(kill.flow())).out();
                    } else {
                      int n = spec.inputs().size();
                      UniformFanInShape<Tagged, Tagged> merge = b.add(Merge.create(n));
                      for (int i = 0; i < n; i++) {
                        NodeId in = spec.inputs().get(i);
                        int port = used.merge(in, 1, Integer::sum) - 1;
                        int index = i;
                        Flow<List<Row>, Tagged, ?> tag =
                            Flow.<List<Row>>create()
                                .map(rows -> new Tagged(index, rows, false))
                                .concat(Source.single(new Tagged(index, List.of(), true)));
                        b.from(fanOut.get(in).out(port)).via(b.add(tag)).toInlet(merge.in(i));
                      }
                      out = b.from(merge.out()).via(b.add(operator(spec))).out();
                    }
                    if (spec.op().isSink()) {
                      b.from(out).to(sinkOf.get(spec.id()));
                    } else {
                      UniformFanOutShape<List<Row>, List<Row>> bc = b.add(Broadcast.create(Math.max(1, spec.outputs().size())));
                      b.from(out).toInlet(bc.in());
                      fanOut.put(spec.id(), bc);
                    }
                  }
                  return ClosedShape.getInstance();
                }));
    List<CompletionStage<Done>> done = runnable.run(system);
    CompletableFuture<?>[] all = done.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new);
    CompletionStage<Result> result =
        CompletableFuture.allOf(all).thenApply(x -> {
          Map<NodeId, List<Row>> out = new LinkedHashMap<>();
          collected.forEach((k, v) -> out.put(k, List.copyOf(v)));
          return new Result(out);
        });
    return new Run(result, kill);
  }

  /** A source stage: reads batches from the anchor it has reached until the source ends. */
  private static Source<List<Row>, ?> source(NodeSpec spec, int batchRows) {
    return Source.unfoldResource(
        () -> new Cursor(Operators.source(spec)),
        c -> c.next(batchRows),
        Cursor::close);
  }

  /**
   * A source reader and its anchor. Runs on the stream's blocking-I/O dispatcher (unfoldResource's
   * default), so waiting for a file to grow does not hold a stream thread. A read's position is
   * applied and counted as persisted as soon as its batch is handed on: a local run has no journal,
   * and a reader that keeps its position in the delta (a Kafka source's offsets) would otherwise read
   * the same records again, and an MQTT source would never acknowledge its messages.
   */
  static final class Cursor {
    /** How long to wait before reading a source again that had nothing new. */
    private static final long IDLE_MILLIS = 10;

    private final SourceReader reader;
    private long anchor;
    private boolean ended;

    Cursor(SourceReader reader) {
      this.reader = reader;
    }

    Optional<List<Row>> next(int max) throws InterruptedException {
      if (ended) {
        return Optional.empty();
      }
      SourceReader.Read read = reader.read(anchor, max);
      reader.apply(read.delta());
      reader.persisted(read.delta());
      anchor = read.next();
      ended = read.end();
      if (read.rows().isEmpty() && !ended) {
        Thread.sleep(IDLE_MILLIS);
      }
      return Optional.of(read.rows());
    }

    void close() {
      reader.close();
    }
  }

  private static Flow<Tagged, List<Row>, ?> operator(NodeSpec spec) {
    return Flow.<Tagged>create()
        .statefulMapConcat(
            () -> {
              Operator op = spec.op().isSink() ? null : Operators.create(spec);
              int[] ended = {0};
              int inputs = spec.inputs().size();
              return t -> {
                if (op == null) {
                  return t.end() || t.rows().isEmpty() ? List.of() : List.of(t.rows());
                }
                Operator.Step step;
                if (t.end()) {
                  ended[0]++;
                  step = ended[0] == inputs ? op.finish() : op.endInput(t.input());
                } else {
                  step = op.process(t.input(), t.rows());
                }
                op.apply(step.delta());
                if (t.end() && ended[0] == inputs) {
                  op.close();
                }
                return step.outputs().isEmpty() ? List.of() : List.of(step.outputs());
              };
            });
  }
}
