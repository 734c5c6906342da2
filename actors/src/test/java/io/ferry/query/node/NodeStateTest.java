package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.node.NodeEvent.BatchProcessed;
import io.ferry.query.node.NodeEvent.Configured;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The pull/anchor protocol of {@link NodeState} without actors: what is accepted, served and kept. */
class NodeStateTest {

  static final NodeId SRC = new NodeId("src");
  static final OperatorSpec.Generate GENERATE = new OperatorSpec.Generate(42, 3, 10, 1_000, 10, 0, 0);
  /** Keeps rows with value >= 500. */
  static final Predicate HIGH = Predicate.field("value", Predicate.Op.GE, 500L);

  /** src → f (filter) → out (collect). */
  static List<NodeSpec> chain() {
    return new QueryGraph(
            new QueryId("q1"),
            List.of(
                new NodeDef(SRC, GENERATE, List.of()),
                new NodeDef(new NodeId("f"), new OperatorSpec.Filter(HIGH), List.of(SRC)),
                new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("f")))))
        .compile();
  }

  /** src → f (filter) → a and b (both collect): f has two consumers. */
  static List<NodeSpec> fanOut() {
    return new QueryGraph(
            new QueryId("q2"),
            List.of(
                new NodeDef(SRC, GENERATE, List.of()),
                new NodeDef(new NodeId("f"), new OperatorSpec.Filter(HIGH), List.of(SRC)),
                new NodeDef(new NodeId("a"), new OperatorSpec.Collect(), List.of(new NodeId("f"))),
                new NodeDef(new NodeId("b"), new OperatorSpec.Collect(), List.of(new NodeId("f")))))
        .compile();
  }

  static NodeSpec spec(List<NodeSpec> specs, String id) {
    return specs.stream().filter(s -> s.id().value().equals(id)).findFirst().orElseThrow();
  }

  static NodeState configured(NodeSpec spec, String deployment) {
    NodeState state = new NodeState();
    state.apply(new Configured(spec, deployment));
    return state;
  }

  /** A row the filter keeps when {@code value >= 500}. */
  static Row row(int i, long value) {
    return Row.of("k" + (i % 3), value, 1_000L + i, "user-" + i);
  }

  /** {@code n} rows starting at {@code first}, alternating kept (even i) and dropped (odd i). */
  static List<Row> rows(int first, int n) {
    List<Row> out = new ArrayList<>();
    for (int i = first; i < first + n; i++) {
      out.add(row(i, i % 2 == 0 ? 900 : 100));
    }
    return out;
  }

  static List<Row> kept(List<Row> in) {
    return in.stream().filter(r -> (Long) r.get(1) >= 500).toList();
  }

  /** Feeds one batch from {@code from} and applies its event, as the actor would after persisting. */
  static BatchProcessed accept(NodeState state, long from, List<Row> rows) {
    BatchProcessed event = state.onBatch(SRC, from, rows, from + rows.size(), false).orElseThrow();
    state.apply(event);
    return event;
  }

  @Test
  void batchAtTheAnchorIsAcceptedAndApplyMovesTheAnchor() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    List<Row> in = rows(0, 4);

    Optional<BatchProcessed> event = state.onBatch(SRC, 0, in, 4, false);

    assertTrue(event.isPresent());
    BatchProcessed e = event.get();
    assertEquals(SRC, e.upstream());
    assertEquals(0, e.from());
    assertEquals(4, e.next());
    assertFalse(e.upstreamDone());
    assertFalse(e.outputDone());
    assertEquals(kept(in), e.outputs());
    // onBatch only proposes: nothing moves before the event is applied.
    assertEquals(0, state.inputAnchor(SRC));
    assertEquals(0, state.outputAnchor());

    state.apply(e);

    assertEquals(4, state.inputAnchor(SRC));
    assertEquals(2, state.outputAnchor());
    assertEquals(2, state.unacknowledged());
    assertEquals(Map.of(SRC, 4L), state.inputAnchors());
  }

  @Test
  void repeatedStaleAndFutureBatchesAreIgnored() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 4));
    accept(state, 4, rows(4, 4));

    assertEquals(Optional.empty(), state.onBatch(SRC, 4, rows(4, 4), 8, false), "repeated batch");
    assertEquals(Optional.empty(), state.onBatch(SRC, 0, rows(0, 4), 4, false), "stale batch");
    assertEquals(Optional.empty(), state.onBatch(SRC, 9, rows(9, 2), 11, false), "future batch");
    assertEquals(8, state.inputAnchor(SRC));
    assertEquals(4, state.outputAnchor());
    assertTrue(state.onBatch(SRC, 8, rows(8, 2), 10, false).isPresent(), "the batch at the anchor still goes");
  }

  @Test
  void applyingAnEventThatDoesNotStartAtTheAnchorFails() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    BatchProcessed first = accept(state, 0, rows(0, 4));

    assertThrows(IllegalStateException.class, () -> state.apply(first));
    assertEquals(4, state.inputAnchor(SRC));
  }

  @Test
  void batchFromANodeThatIsNotAnUpstreamIsIgnored() {
    NodeState state = configured(spec(chain(), "f"), "d1");

    assertEquals(Optional.empty(), state.onBatch(new NodeId("out"), 0, rows(0, 2), 2, false));
  }

  @Test
  void batchWhoseAnchorsDoNotMatchItsRowsIsRejected() {
    NodeState state = configured(spec(chain(), "f"), "d1");

    assertThrows(IllegalStateException.class, () -> state.onBatch(SRC, 0, rows(0, 3), 5, false));
  }

  @Test
  void emptyNonFinalBatchYieldsNoEvent() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 2));

    assertEquals(Optional.empty(), state.onBatch(SRC, 2, List.of(), 2, false));
    assertEquals(2, state.inputAnchor(SRC));
  }

  @Test
  void finalBatchFromTheLastOpenUpstreamEndsTheOutput() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 4));

    BatchProcessed end = state.onBatch(SRC, 4, List.of(), 4, true).orElseThrow();

    assertTrue(end.upstreamDone());
    assertTrue(end.outputDone());
    assertEquals(4, end.next());
    state.apply(end);
    assertTrue(state.inputDone(SRC));
    assertTrue(state.outputDone());
    assertEquals(List.of(), state.openInputs());
    assertFalse(state.wantsInput(1_000));
    assertEquals(Optional.empty(), state.onBatch(SRC, 4, List.of(), 4, true), "a repeated end is ignored");
  }

  @Test
  void unionSinkEndsOnlyWhenItsLastUpstreamEnds() {
    NodeId left = new NodeId("left");
    NodeId right = new NodeId("right");
    List<NodeSpec> specs =
        new QueryGraph(
                new QueryId("q3"),
                List.of(
                    new NodeDef(left, GENERATE, List.of()),
                    new NodeDef(right, GENERATE, List.of()),
                    new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(left, right))))
            .compile();
    NodeState state = configured(spec(specs, "out"), "d1");

    BatchProcessed leftEnd = state.onBatch(left, 0, List.of(), 0, true).orElseThrow();
    assertTrue(leftEnd.upstreamDone());
    assertFalse(leftEnd.outputDone(), "right is still open");
    state.apply(leftEnd);
    assertEquals(List.of(right), state.openInputs());

    BatchProcessed rightEnd = state.onBatch(right, 0, List.of(), 0, true).orElseThrow();
    assertTrue(rightEnd.outputDone());
    state.apply(rightEnd);
    assertTrue(state.outputDone());
  }

  @Test
  void serveGivesRowsAfterTheConsumersAnchorAndWaitsAtTheEnd() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    List<Row> in = rows(0, 10);
    accept(state, 0, in);
    List<Row> out = kept(in); // 5 rows

    NodeState.Served first = state.serve("out", 0, 3).orElseThrow();
    assertEquals(0, first.from());
    assertEquals(out.subList(0, 3), first.rows());
    assertEquals(3, first.next());
    assertFalse(first.done());
    assertFalse(first.gap());

    NodeState.Served rest = state.serve("out", 3, 100).orElseThrow();
    assertEquals(out.subList(3, 5), rest.rows());
    assertEquals(5, rest.next());

    assertEquals(Optional.empty(), state.serve("out", 5, 100), "at the end the pull waits (long poll)");
    assertThrows(IllegalStateException.class, () -> state.serve("out", 6, 100), "past the end");
    assertEquals(Optional.empty(), state.serve("stranger", 0, 100), "not a consumer of f");
  }

  @Test
  void serveSaysDoneAtTheEndOnceTheOutputEnded() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 4));
    state.apply(state.onBatch(SRC, 4, List.of(), 4, true).orElseThrow());

    NodeState.Served rows = state.serve("out", 0, 100).orElseThrow();
    assertFalse(rows.done(), "rows first, the end after them");
    assertEquals(2, rows.next());

    NodeState.Served end = state.serve("out", 2, 100).orElseThrow();
    assertTrue(end.done());
    assertEquals(List.of(), end.rows());
    assertEquals(2, end.from());
    assertEquals(2, end.next());
  }

  @Test
  void acknowledgementTrimsTheLogOnlyToTheSlowestConsumer() {
    NodeState state = configured(spec(fanOut(), "f"), "d1");
    accept(state, 0, rows(0, 12)); // 6 rows out
    assertEquals(List.of("a", "b"), state.consumers());
    assertEquals(6, state.unacknowledged());

    state.serve("a", 4, 100);
    assertEquals(0, state.outputBase(), "b has acknowledged nothing yet");
    assertEquals(6, state.unacknowledged());

    state.serve("b", 2, 100);
    assertEquals(2, state.outputBase(), "min(a=4, b=2)");
    assertEquals(4, state.unacknowledged());

    state.serve("b", 6, 100);
    assertEquals(4, state.outputBase(), "min(a=4, b=6)");

    state.serve("a", 3, 100);
    assertEquals(4, state.outputBase(), "an acknowledgement never goes backwards");

    NodeState.Served gap = state.serve("b", 1, 100).orElseThrow();
    assertTrue(gap.gap(), "rows below the base are gone");
    assertEquals(6, state.acknowledged("b"), "b already acknowledged past the base: that pull was a stale one");
    assertEquals(0, state.acknowledged("nobody"));

    NodeState.Served served = state.serve("a", 4, 100).orElseThrow();
    assertEquals(kept(rows(0, 12)).subList(4, 6), served.rows(), "slices stay right after trimming");
  }

  @Test
  void trimmingManyRowsKeepsServingTheRightRows() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    List<Row> all = new ArrayList<>();
    long anchor = 0;
    // Enough rows that the log compacts its trimmed prefix (more than 1024 trimmed).
    for (int b = 0; b < 10; b++) {
      List<Row> in = rows((int) anchor, 500);
      accept(state, anchor, in);
      all.addAll(kept(in));
      anchor += 500;
      long ack = state.outputAnchor() - 100;
      NodeState.Served s = state.serve("out", ack, 50).orElseThrow();
      assertEquals(all.subList((int) ack, (int) ack + 50), s.rows());
      assertEquals(ack, state.outputBase());
      assertEquals(100, state.unacknowledged());
    }
    assertEquals(2_500, state.outputAnchor());
  }

  @Test
  void backPressureStopsInputUntilConsumersAcknowledge() {
    NodeState state = configured(spec(fanOut(), "f"), "d1");
    long retainMax = 4;
    assertTrue(state.wantsInput(retainMax));

    accept(state, 0, rows(0, 6)); // 3 retained
    assertTrue(state.wantsInput(retainMax));
    accept(state, 6, rows(6, 2)); // 4 retained
    assertFalse(state.wantsInput(retainMax), "retained reached retain max");

    state.serve("a", 4, 100);
    assertFalse(state.wantsInput(retainMax), "b still holds every row");
    state.serve("b", 1, 100);
    assertTrue(state.wantsInput(retainMax), "3 retained after both acknowledged");
  }

  @Test
  void snapshotRoundTripKeepsAnchorsRetainedRowsAndBase() {
    NodeState state = configured(spec(fanOut(), "f"), "d1");
    accept(state, 0, rows(0, 10));
    accept(state, 10, rows(10, 10)); // 10 rows out
    state.serve("a", 5, 100);
    state.serve("b", 3, 100); // base 3

    NodeSnapshot snapshot = state.snapshot();
    NodeState restored = NodeState.fromSnapshot(snapshot);

    assertTrue(restored.configured());
    assertEquals("d1", restored.deploymentId());
    assertEquals(state.spec(), restored.spec());
    assertEquals(Map.of(SRC, 20L), restored.inputAnchors());
    assertEquals(3, restored.outputBase());
    assertEquals(10, restored.outputAnchor());
    assertEquals(7, restored.unacknowledged());
    assertFalse(restored.outputDone());
    assertEquals(state.serve("a", 5, 100), restored.serve("a", 5, 100));
    assertEquals(snapshot, restored.snapshot());

    // The restored node goes on exactly where the original was.
    assertEquals(Optional.empty(), restored.onBatch(SRC, 10, rows(10, 10), 20, false));
    accept(restored, 20, rows(20, 2));
    assertEquals(22, restored.inputAnchor(SRC));
    assertEquals(11, restored.outputAnchor());
  }

  @Test
  void snapshotRoundTripKeepsTheEnd() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 4));
    state.apply(state.onBatch(SRC, 4, List.of(), 4, true).orElseThrow());

    NodeState restored = NodeState.fromSnapshot(state.snapshot());

    assertTrue(restored.outputDone());
    assertTrue(restored.inputDone(SRC));
    assertEquals(List.of(), restored.openInputs());
    assertTrue(restored.serve("out", 2, 100).orElseThrow().done());
  }

  @Test
  void snapshotOfAnUnconfiguredNodeRestoresAnUnconfiguredNode() {
    assertFalse(NodeState.fromSnapshot(new NodeState().snapshot()).configured());
  }

  @Test
  void newDeploymentStartsAfresh() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 10));
    state.serve("out", 2, 100);

    state.apply(new Configured(spec(chain(), "f"), "d2"));

    assertEquals("d2", state.deploymentId());
    assertEquals(0, state.inputAnchor(SRC));
    assertEquals(0, state.outputAnchor());
    assertEquals(0, state.outputBase());
    assertEquals(0, state.unacknowledged());
    assertEquals(Optional.empty(), state.serve("out", 0, 100));
    assertTrue(state.onBatch(SRC, 0, rows(0, 2), 2, false).isPresent(), "anchor 0 is current again");
  }

  @Test
  void retiredNodeTakesNoInputAndServesNothing() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    accept(state, 0, rows(0, 4));

    state.apply(new NodeEvent.Retired("d0"));
    assertFalse(state.retired(), "retiring another deployment changes nothing");

    state.apply(new NodeEvent.Retired("d1"));

    assertTrue(state.retired());
    assertFalse(state.wantsInput(1_000));
    assertEquals(Optional.empty(), state.onBatch(SRC, 4, rows(4, 2), 6, false));
    assertEquals(Optional.empty(), state.serve("out", 0, 100));
    assertTrue(NodeState.fromSnapshot(state.snapshot()).retired());
  }

  @Test
  void sourceReadsConsecutiveAnchorsAndEndsAtItsCount() {
    NodeState state = configured(spec(chain(), "src"), "d1");
    assertTrue(state.isSource());
    List<Row> read = new ArrayList<>();
    long anchor = 0;
    BatchProcessed last = null;
    while (!state.outputDone()) {
      BatchProcessed e = state.readSource(3).orElseThrow();
      assertEquals(anchor, e.from());
      assertEquals(Math.min(anchor + 3, 10), e.next());
      assertEquals(e.next() - e.from(), e.outputs().size());
      state.apply(e);
      read.addAll(e.outputs());
      anchor = e.next();
      last = e;
    }

    assertEquals(10, anchor);
    assertTrue(last.outputDone());
    assertTrue(last.upstreamDone());
    assertEquals(10, state.outputAnchor());
    assertEquals(Optional.empty(), state.readSource(3), "nothing after the end");

    // Replayable: the same anchors give the same rows, however the reads were chunked.
    NodeState again = configured(spec(chain(), "src"), "d1");
    BatchProcessed whole = again.readSource(100).orElseThrow();
    assertEquals(read, whole.outputs());
    assertTrue(whole.outputDone());

    NodeState.Served served = state.serve("f", 0, 100).orElseThrow();
    assertEquals(read, served.rows());
  }

  @Test
  void emptySourceEndsAtOnce() {
    List<NodeSpec> specs =
        new QueryGraph(
                new QueryId("q4"),
                List.of(
                    new NodeDef(SRC, new OperatorSpec.Generate(1, 1, 0, 0, 1, 0, 0), List.of()),
                    new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(SRC))))
            .compile();
    NodeState state = configured(spec(specs, "src"), "d1");

    BatchProcessed end = state.readSource(10).orElseThrow();

    assertTrue(end.outputDone());
    assertEquals(0, end.next());
    state.apply(end);
    assertTrue(state.serve("out", 0, 10).orElseThrow().done());
  }

  @Test
  void aBrokenAnchorCheckTakesARepeatedBatchTwice() {
    // The seam the simulator's dedup-off run uses: with every batch taken, a repeat is counted again.
    NodeState state = new NodeState((from, anchor) -> true);
    state.apply(new Configured(spec(chain(), "f"), "d1"));
    accept(state, 0, rows(0, 4));
    BatchProcessed again = state.onBatch(SRC, 0, rows(0, 4), 4, false).orElseThrow();
    state.apply(again);
    assertEquals(4, state.outputAnchor(), "the two kept rows of the repeat are output again");
    NodeState recovered = NodeState.fromSnapshot(state.snapshot(), (from, anchor) -> true);
    recovered.apply(again);
    NodeState exact = NodeState.fromSnapshot(state.snapshot());
    assertThrows(IllegalStateException.class, () -> exact.apply(again), "the exact check refuses the repeat's event");
  }

  @Test
  void aPauseIsAnsweredByStateAndMigration() {
    assertEquals(new NodeState.NotRunningYet(), new NodeState().pause("m1"));
    NodeState state = configured(spec(chain(), "f"), "d1");
    NodeState.PauseAnswer first = state.pause("m1");
    assertEquals(new NodeState.PersistPause(new NodeEvent.Paused("m1")), first);
    state.apply(((NodeState.PersistPause) first).event());
    assertEquals(new NodeState.AlreadyPaused(), state.pause("m1"));
    assertEquals(new NodeState.PausedByOther("m1"), state.pause("m2"));
    assertEquals(Optional.empty(), state.onBatch(SRC, 0, rows(0, 2), 2, false), "a paused node takes no batch");
  }

  @Test
  void aResumeWaitsForTheCheckpointAndTheRightPlace() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    state.apply(new NodeEvent.Paused("m1"));
    assertEquals(new NodeState.RunsElsewhere(), state.resume("m1", false, 9, 5));
    NodeState.ResumeAnswer behind = state.resume("m1", true, 4, 5);
    assertEquals(new NodeState.BehindCheckpoint(4, 5), behind);
    assertEquals("recovery at 4 is behind the checkpoint 5", ((NodeState.BehindCheckpoint) behind).reason());
    assertEquals(new NodeState.PersistResume(new NodeEvent.Resumed("m0")), state.resume("m0", true, 5, 5),
        "another migration's resume is recorded, so its late pause is refused");
    state.apply(new NodeEvent.Resumed("m0"));
    assertEquals(Optional.of("m1"), state.pausedBy(), "and leaves this migration's pause alone");
    NodeState.ResumeAnswer go = state.resume("m1", true, 5, 5);
    assertEquals(new NodeState.PersistResume(new NodeEvent.Resumed("m1")), go);
    state.apply(((NodeState.PersistResume) go).event());
    assertEquals(Optional.empty(), state.pausedBy());
    assertEquals(new NodeState.AlreadyResumed(), state.resume("m1", true, 6, 5), "a repeated resume");
  }

  @Test
  void aPauseForAMigrationThatHasEndedIsRefusedWithoutPausing() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    // The rollback's resume came before the dead manager's pause: the node was never paused by m1.
    NodeState.ResumeAnswer rollback = state.resume("m1", true, 1, 0);
    assertEquals(new NodeState.PersistResume(new NodeEvent.Resumed("m1")), rollback);
    state.apply(((NodeState.PersistResume) rollback).event());
    assertEquals(new NodeState.MigrationOver("m1"), state.pause("m1"));
    assertEquals(Optional.empty(), state.pausedBy());
    assertEquals(new NodeState.AlreadyResumed(), state.resume("m1", true, 2, 0), "a repeated resume persists nothing");

    NodeState recovered = NodeState.fromSnapshot(state.snapshot());
    assertEquals(new NodeState.MigrationOver("m1"), recovered.pause("m1"), "the snapshot keeps the ended migrations");
    assertInstanceOf(NodeState.PersistPause.class, recovered.pause("m2"), "a new migration still pauses the node");
  }

  @Test
  void aNodeRemembersOnlyTheLatestEndedMigrations() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    for (int i = 0; i <= NodeState.ENDED_MIGRATIONS_MAX; i++) {
      state.apply(new NodeEvent.Paused("m" + i));
      state.apply(new NodeEvent.Resumed("m" + i));
    }
    assertEquals(NodeState.ENDED_MIGRATIONS_MAX, state.endedMigrations().size());
    assertEquals("m1", state.endedMigrations().get(0), "the oldest is forgotten first");
    assertInstanceOf(NodeState.PersistPause.class, state.pause("m0"));
  }

  @Test
  void aSnapshotWrittenBeforeEndedMigrationsExistedStillRestores() {
    NodeState state = configured(spec(chain(), "f"), "d1");
    state.apply(new NodeEvent.Paused("m1"));
    NodeSnapshot s = state.snapshot();
    NodeSnapshot old = new NodeSnapshot(s.spec(), s.deploymentId(), s.inputAnchors(), s.inputsDone(), s.outputBase(), s.retained(),
        s.outputDone(), s.retired(), s.pausedBy(), s.operatorState(), null);
    NodeState restored = NodeState.fromSnapshot(old);
    assertEquals(Optional.of("m1"), restored.pausedBy());
    assertEquals(List.of(), restored.endedMigrations());
  }

  /** A window join node tells its inputs apart by upstream id and flushes when the last one ends. */
  @Test
  void windowJoinNodeFeedsEachUpstreamToItsSide() {
    NodeId l = new NodeId("l");
    NodeId r = new NodeId("r");
    List<NodeSpec> specs =
        new QueryGraph(
                new QueryId("qj"),
                List.of(
                    new NodeDef(l, GENERATE, List.of()),
                    new NodeDef(r, GENERATE, List.of()),
                    new NodeDef(new NodeId("j"), new OperatorSpec.WindowJoin("key", "ts", "key", "ts", 100, 0), List.of(l, r)),
                    new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(new NodeId("j")))))
            .compile();
    NodeSpec j = spec(specs, "j");
    assertEquals(2, j.inputSchemas().size());
    assertTrue(j.receivesPii());
    NodeState state = configured(j, "d1");
    // Left: k0 at 1000 with value 1; right: k0 at 1010 with value 2 and k1 (no partner).
    state.apply(state.onBatch(l, 0, List.of(Row.of("k0", 1L, 1_000L, "u1")), 1, false).orElseThrow());
    state.apply(state.onBatch(r, 0, List.of(Row.of("k0", 2L, 1_010L, "u2"), Row.of("k1", 3L, 1_020L, "u3")), 2, false).orElseThrow());
    state.apply(state.onBatch(l, 1, List.of(), 1, true).orElseThrow());
    assertEquals(0, state.outputAnchor());
    BatchProcessed last = state.onBatch(r, 2, List.of(), 2, true).orElseThrow();
    assertTrue(last.outputDone());
    assertEquals(List.of(Row.of(1_000L, 1_100L, "k0", 1L, 1_000L, "u1", "k0", 2L, 1_010L, "u2")), last.outputs());
  }
}
