package io.ferry.query.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.Row;
import io.ferry.query.node.LogicNode.Batch;
import io.ferry.query.node.LogicNode.Command;
import io.ferry.query.node.LogicNode.Pull;
import io.ferry.query.node.NodeEvent.BatchProcessed;
import io.ferry.query.node.NodeEvent.Configured;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.persistence.testkit.SnapshotMeta;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.apache.pekko.testkit.ExplicitlyTriggeredScheduler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@link LogicNode} actor shell: what it persists for batches, how it pulls, retries and
 * answers long polls, and that it recovers from its journal and snapshots. A test probe stands in
 * for the upstream node, another for the downstream consumer. Time is Pekko's ManualTime: timers
 * fire, and the node's clock moves, only when a test lets time pass, so no outcome depends on how
 * fast the machine runs the test.
 */
class LogicNodeTest {

  static final Config CONFIG =
      ConfigFactory.parseString(
              """
              pekko.actor.serialize-messages = on
              pekko.remote.artery.canonical.port = 0
              ferry.node {
                pull-timeout = 300ms
                long-poll = 200ms
                tick = 20ms
              }
              """)
          .withFallback(ManualTime.config())
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load())
          .resolve();

  static final Duration WAIT = Duration.ofSeconds(3);
  static final NodeId SRC = new NodeId("src");
  static final NodeId F = new NodeId("f");
  static final AtomicInteger QUERIES = new AtomicInteger();

  static ActorTestKit testKit;
  static NodeSettings settings;
  static ManualTime manualTime;
  /** The manual scheduler's time in nanos: the clock the nodes measure timeouts on. */
  static LongSupplier clock;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create(CONFIG);
    settings = NodeSettings.from(testKit.system().settings().config());
    manualTime = ManualTime.get(testKit.system());
    ExplicitlyTriggeredScheduler scheduler = (ExplicitlyTriggeredScheduler) Adapter.toClassic(testKit.system()).scheduler();
    clock = () -> TimeUnit.MILLISECONDS.toNanos(scheduler.currentTimeMs());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** src → f (value >= 500) → out (collect), under a query id of its own so tests do not share entities. */
  static List<NodeSpec> graph() {
    NodeId out = new NodeId("out");
    return new QueryGraph(
            new QueryId("t" + QUERIES.incrementAndGet()),
            List.of(
                new NodeDef(SRC, new OperatorSpec.Generate(42, 3, 10, 1_000, 10, 0, 0), List.of()),
                new NodeDef(F, new OperatorSpec.Filter(Predicate.field("value", Predicate.Op.GE, 500L)), List.of(SRC)),
                new NodeDef(out, new OperatorSpec.Collect(), List.of(F))))
        .compile();
  }

  static NodeSpec spec(List<NodeSpec> specs, String id) {
    return specs.stream().filter(s -> s.id().value().equals(id)).findFirst().orElseThrow();
  }

  /** {@code n} rows from {@code first}; even ones pass the filter, odd ones do not. */
  static List<Row> rows(int first, int n) {
    List<Row> out = new ArrayList<>();
    for (int i = first; i < first + n; i++) {
      out.add(Row.of("k" + (i % 3), i % 2 == 0 ? 900L : 100L, 1_000L + i, "user-" + i));
    }
    return out;
  }

  static List<Row> kept(List<Row> in) {
    return in.stream().filter(r -> (Long) r.get(1) >= 500).toList();
  }

  static EventSourcedBehaviorTestKit.SerializationSettings verifyAll() {
    // NodeState is the live, mutable state and never serialized itself: what is persisted for it is
    // its NodeSnapshot (the snapshot adapter), checked in snapshotSerializesAndRestores.
    return EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(true).withVerifyState(false);
  }

  /** An entity of the node {@code spec} whose upstream pulls all go to {@code upstream}. */
  static EventSourcedBehaviorTestKit<Command, NodeEvent, NodeState> node(
      NodeSpec spec, NodeSettings nodeSettings, TestProbe<Command> upstream) {
    return node(spec, nodeSettings, upstream, testKit.createTestProbe());
  }

  /** As above; the pokes the node sends its downstream nodes when it starts go to {@code downstream}. */
  static EventSourcedBehaviorTestKit<Command, NodeEvent, NodeState> node(
      NodeSpec spec, NodeSettings nodeSettings, TestProbe<Command> upstream, TestProbe<Command> downstream) {
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        LogicNode.create(LogicNode.entityId(spec.query(), spec.id()), nodeSettings, peers(spec, upstream, downstream), clock),
        verifyAll());
  }

  static LogicNode.Peers peers(NodeSpec spec, TestProbe<Command> upstream, TestProbe<Command> downstream) {
    return (q, n) -> spec.inputs().contains(n) ? upstream.ref() : downstream.ref();
  }

  static String persistenceId(NodeSpec spec) {
    return LogicNode.TYPE_KEY.name() + "|" + LogicNode.entityId(spec.query(), spec.id());
  }

  /** The node's next message to {@code upstream}, which must be the pull after {@code after}. */
  static Pull expectPull(TestProbe<Command> upstream, long after) {
    Pull pull = assertInstanceOf(Pull.class, upstream.receiveMessage(WAIT));
    assertEquals(after, pull.after(), () -> "expected a pull after " + after + ", got " + pull);
    return pull;
  }

  /** Starts the node and answers its first pull. */
  static Pull started(EventSourcedBehaviorTestKit<Command, NodeEvent, NodeState> node, NodeSpec spec, TestProbe<Command> upstream) {
    node.runCommand(new LogicNode.Start(spec, "d1"));
    return expectPull(upstream, 0);
  }

  @Test
  void startPersistsConfiguredAndPullsFromTheStart() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    var node = node(f, settings, upstream);

    var result = node.runCommand(new LogicNode.Start(f, "d1"));

    assertEquals(List.of(new Configured(f, "d1")), result.events());
    assertTrue(result.state().configured());
    Pull pull = expectPull(upstream, 0);
    assertEquals("d1", pull.deploymentId());
    assertEquals("f", pull.consumer());
    assertEquals(settings.batchRowsMax(), pull.max());

    assertTrue(node.runCommand(new LogicNode.Start(f, "d1")).hasNoEvents(), "Start is idempotent");
    // Up to the pull timeout, no retry can come: a second pull would be the repeated Start's.
    manualTime.expectNoMessageFor(settings.pullTimeout(), upstream);
  }

  @Test
  void batchAtTheAnchorIsPersistedOnceAndTheNodePullsOn() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    List<Row> in = rows(0, 6);

    var result = node.runCommand(new Batch("d1", SRC, 0, in, 6, false));

    assertEquals(1, result.events().size());
    BatchProcessed event = assertInstanceOf(BatchProcessed.class, result.events().get(0));
    assertEquals(SRC, event.upstream());
    assertEquals(0, event.from());
    assertEquals(6, event.next());
    assertEquals(kept(in), event.outputs());
    assertEquals(6, node.getState().inputAnchor(SRC));
    assertEquals(3, node.getState().outputAnchor());
    expectPull(upstream, 6);

    assertTrue(node.runCommand(new Batch("d1", SRC, 0, in, 6, false)).hasNoEvents(), "duplicate batch");
    node.runCommand(new Batch("d1", SRC, 6, rows(6, 2), 8, false));
    expectPull(upstream, 8);
    assertTrue(node.runCommand(new Batch("d1", SRC, 6, rows(6, 2), 8, false)).hasNoEvents(), "stale batch");
    assertTrue(node.runCommand(new Batch("d1", SRC, 10, rows(10, 2), 12, false)).hasNoEvents(), "future batch");
    assertTrue(node.runCommand(new Batch("d0", SRC, 8, rows(8, 2), 10, false)).hasNoEvents(), "other deployment");
    assertEquals(8, node.getState().inputAnchor(SRC));
    assertEquals(4, node.getState().outputAnchor());
  }

  @Test
  void consumerPullIsAnsweredFromTheOutputLog() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    List<Row> in = rows(0, 10);
    node.runCommand(new Batch("d1", SRC, 0, in, 10, false));

    node.runCommand(new Pull("d1", "out", 0, 3, consumer.ref()));
    consumer.expectMessage(WAIT, new Batch("d1", F, 0, kept(in).subList(0, 3), 3, false));

    node.runCommand(new Pull("d1", "out", 3, 100, consumer.ref()));
    consumer.expectMessage(WAIT, new Batch("d1", F, 3, kept(in).subList(3, 5), 5, false));
    assertEquals(3, node.getState().outputBase(), "the pull after 3 acknowledged the rows below 3");
  }

  @Test
  void pullAtTheEndIsHeldUntilNewOutputArrives() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);

    node.runCommand(new Pull("d1", "out", 0, 100, consumer.ref()));
    // Short of the long poll: only new output can answer the held pull.
    manualTime.expectNoMessageFor(settings.longPoll().minus(settings.tick()), consumer);
    List<Row> in = rows(0, 4);
    node.runCommand(new Batch("d1", SRC, 0, in, 4, false));

    consumer.expectMessage(WAIT, new Batch("d1", F, 0, kept(in), 2, false));
  }

  @Test
  void pullAtTheEndIsAnsweredEmptyAfterTheLongPoll() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    node.runCommand(new Batch("d1", SRC, 0, rows(0, 4), 4, false));

    node.runCommand(new Pull("d1", "out", 2, 100, consumer.ref()));

    // Held for the whole long poll (the tick that sees it run out answers), not a tick less.
    manualTime.expectNoMessageFor(settings.longPoll().minus(settings.tick()), consumer);
    manualTime.timePasses(settings.tick());
    consumer.expectMessage(WAIT, new Batch("d1", F, 2, List.of(), 2, false));
  }

  @Test
  void lostPullIsSentAgainAfterThePullTimeout() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    Pull first = started(node, f, upstream);

    // No answer: the pull was lost. Not sent again up to the pull timeout; the first tick past it does.
    manualTime.expectNoMessageFor(settings.pullTimeout(), upstream);
    manualTime.timePasses(settings.tick());
    assertEquals(first, upstream.receiveMessage(WAIT));

    node.runCommand(new Batch("d1", SRC, 0, rows(0, 2), 2, false));
    expectPull(upstream, 2);
  }

  @Test
  void metersMeasureBacklogStateBytesSentPullsTimeoutsAndJournalWrites() {
    NodeSpec f = spec(graph(), "f");
    String q = f.query().value();
    // the member's registry records once an exporter is added (the runtime adds Prometheus's)
    io.ferry.metrics.FerryMetrics.get(testKit.system()).exportTo(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    io.micrometer.core.instrument.MeterRegistry registry = io.ferry.metrics.FerryMetrics.get(testKit.system()).registry();
    io.micrometer.core.instrument.Timer journal = registry.find(NodeMetricNames.JOURNAL_WRITE).timer();
    long writesBefore = journal == null ? 0 : journal.count();
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    List<Row> in = rows(0, 10);
    node.runCommand(new Batch("d1", SRC, 0, in, 10, false));
    expectPull(upstream, 10);

    // five rows passed the filter and nobody took any: the consumer is five behind, the node holds five
    java.util.function.Supplier<Double> backlog = () -> registry.find(NodeMetricNames.BACKLOG).tags("query", q, "node", "out", "from", "f").gauge().value();
    java.util.function.Supplier<Double> state = () -> registry.find(NodeMetricNames.STATE).tags("query", q, "node", "f").gauge().value();
    assertEquals(5.0, backlog.get());
    assertEquals(5.0, state.get());
    node.runCommand(new Pull("d1", "out", 0, 3, consumer.ref()));
    consumer.expectMessageClass(Batch.class, WAIT);
    node.runCommand(new Pull("d1", "out", 3, 100, consumer.ref()));
    consumer.expectMessageClass(Batch.class, WAIT);
    assertEquals(2.0, backlog.get(), "the pull after 3 acknowledged three rows");
    assertEquals(2.0, state.get(), "the log dropped the acknowledged rows");
    // rows of "k.", a long, a long and "user-.": 4 + 3 + 8 + 8 + 7 bytes each
    long perRow = 4 + 3 + 8 + 8 + 7;
    assertEquals(5.0 * perRow, registry.find(NodeMetricNames.SENT_BYTES).tags("query", q, "node", "f", "consumer", "out").counter().count());
    assertEquals(NodeMeters.bytes(kept(in)), 5 * perRow);

    // the pull after 10 gets no answer: it times out and is sent again
    manualTime.timePasses(settings.pullTimeout());
    manualTime.timePasses(settings.tick());
    expectPull(upstream, 10);
    assertEquals(3.0, registry.find(NodeMetricNames.PULLS).tags("query", q, "node", "f", "upstream", "src").counter().count());
    assertEquals(1.0, registry.find(NodeMetricNames.PULL_TIMEOUTS).tags("query", q, "node", "f", "upstream", "src").counter().count());
    assertTrue(registry.find(NodeMetricNames.JOURNAL_WRITE).timer().count() >= writesBefore + 1, "the batch's persist was timed");
  }

  @Test
  void emptyAnswerToALongPollMakesTheNodePullAgainAtOnce() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    // No time passes, so the pull timeout cannot run out: the next pull can only be the answer to the empty batch.
    var node = node(f, settings, upstream);
    started(node, f, upstream);

    assertTrue(node.runCommand(new Batch("d1", SRC, 0, List.of(), 0, false)).hasNoEvents());

    upstream.expectMessageClass(Pull.class, WAIT);
  }

  @Test
  void finalBatchEndsTheOutputAndStopsPulling() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    node.runCommand(new Batch("d1", SRC, 0, rows(0, 4), 4, false));
    expectPull(upstream, 4);

    var result = node.runCommand(new Batch("d1", SRC, 4, List.of(), 4, true));

    BatchProcessed end = assertInstanceOf(BatchProcessed.class, result.events().get(0));
    assertTrue(end.upstreamDone());
    assertTrue(end.outputDone());
    // Past the pull timeout: no retry either, the upstream has ended.
    manualTime.expectNoMessageFor(settings.pullTimeout().multipliedBy(2), upstream);
    node.runCommand(new Pull("d1", "out", 2, 100, consumer.ref()));
    consumer.expectMessage(WAIT, new Batch("d1", F, 2, List.of(), 2, true));
  }

  @Test
  void backPressureStopsPullingUntilTheConsumerAcknowledges() {
    NodeSpec f = spec(graph(), "f");
    NodeSettings small = new NodeSettings(4, 4, settings.pullTimeout(), settings.longPoll(), settings.tick(), 200);
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, small, upstream);
    Pull first = started(node, f, upstream);
    assertEquals(4, first.max());

    node.runCommand(new Batch("d1", SRC, 0, rows(0, 8), 8, false)); // 4 rows retained: full

    // Longer than the pull timeout, so not even a retry goes out while the log is full.
    manualTime.expectNoMessageFor(settings.pullTimeout().multipliedBy(2), upstream);
    node.runCommand(new Pull("d1", "out", 3, 100, consumer.ref()));
    consumer.expectMessageClass(Batch.class, WAIT);
    expectPull(upstream, 8);
  }

  @Test
  void restartRecoversAnchorsAndOutputAndPullsOnFromTheAnchor() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    TestProbe<Command> downstream = testKit.createTestProbe();
    var node = node(f, settings, upstream, downstream);
    started(node, f, upstream);
    List<Row> in = rows(0, 10);
    node.runCommand(new Batch("d1", SRC, 0, in.subList(0, 6), 6, false));
    expectPull(upstream, 6);
    node.runCommand(new Batch("d1", SRC, 6, in.subList(6, 10), 10, false));
    expectPull(upstream, 10);

    NodeState recovered = node.restart().state();

    // Its consumers' pulls to the earlier incarnation are lost: it tells them to pull again.
    downstream.expectMessage(WAIT, new LogicNode.Poke("d1", F));

    assertTrue(recovered.configured());
    assertEquals("d1", recovered.deploymentId());
    assertEquals(Map.of(SRC, 10L), recovered.inputAnchors());
    assertEquals(5, recovered.outputAnchor());
    expectPull(upstream, 10);
    node.runCommand(new Pull("d1", "out", 0, 100, consumer.ref()));
    consumer.expectMessage(WAIT, new Batch("d1", F, 0, kept(in), 5, false));
    assertTrue(node.runCommand(new Batch("d1", SRC, 6, in.subList(6, 10), 10, false)).hasNoEvents(),
        "a batch handled before the restart is not handled again");
  }

  @Test
  void snapshotsRestoreTheNodeAfterOldEventsAreDeleted() {
    NodeSpec f = spec(graph(), "f");
    NodeSettings every2 =
        new NodeSettings(settings.batchRowsMax(), settings.retainRowsMax(), settings.pullTimeout(), settings.longPoll(), settings.tick(), 2);
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(f, every2, upstream);
    started(node, f, upstream);
    List<Row> in = rows(0, 20);
    for (int b = 0; b < 5; b++) {
      node.runCommand(new Batch("d1", SRC, b * 4, in.subList(b * 4, b * 4 + 4), b * 4 + 4, false));
      expectPull(upstream, b * 4 + 4);
    }
    // Acknowledge the first 4 rows, so the next snapshot holds a trimmed log.
    node.runCommand(new Pull("d1", "out", 4, 100, consumer.ref()));
    consumer.expectMessageClass(Batch.class, WAIT);
    node.runCommand(new Batch("d1", SRC, 20, List.of(), 20, true)); // event 7: no snapshot
    node.runCommand(new Batch("d1", SRC, 20, List.of(), 20, true)); // ignored
    expectNoPersistedConfigured(f);

    SnapshotTestKit snapshots = node.snapshotTestKit().orElseThrow();
    List<Pair<SnapshotMeta, Object>> stored = snapshots.persistedInStorage(persistenceId(f));
    assertFalse(stored.isEmpty(), "snapshots were taken");
    NodeSnapshot latest = assertInstanceOf(NodeSnapshot.class, stored.get(stored.size() - 1).second());
    assertEquals(Map.of("src", 20L), latest.inputAnchors());

    NodeState recovered = node.restart().state();

    assertEquals(f, recovered.spec());
    assertEquals("d1", recovered.deploymentId());
    assertEquals(Map.of(SRC, 20L), recovered.inputAnchors());
    assertEquals(10, recovered.outputAnchor());
    assertTrue(recovered.outputDone(), "the end came after the last snapshot, from the journal");
    assertEquals(latest.outputBase(), recovered.outputBase());
    node.runCommand(new Pull("d1", "out", 4, 100, consumer.ref()));
    consumer.expectMessage(WAIT, new Batch("d1", F, 4, kept(in).subList(4, 10), 10, false));
    manualTime.expectNoMessageFor(settings.pullTimeout(), upstream);
  }

  /** Retention deleted the first events: recovery cannot have come from the journal alone. */
  static void expectNoPersistedConfigured(NodeSpec f) {
    List<Object> events = PersistenceTestKit.create(testKit.system()).persistedInStorage(persistenceId(f));
    assertTrue(events.stream().noneMatch(e -> e instanceof Configured), "old events deleted, got " + events);
  }

  @Test
  void snapshotSerializesAndRestores() {
    NodeSpec f = spec(graph(), "f");
    NodeState state = new NodeState();
    state.apply(new Configured(f, "d1"));
    List<Row> in = rows(0, 10);
    state.apply(state.onBatch(SRC, 0, in, 10, false).orElseThrow());
    state.serve("out", 2, 100);
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());

    NodeSnapshot copy = serialization.verifySerialization(state.snapshot(), true);
    NodeState restored = NodeState.fromSnapshot(copy);

    assertEquals(Map.of(SRC, 10L), restored.inputAnchors());
    assertEquals(2, restored.outputBase());
    assertEquals(kept(in).subList(2, 5), restored.serve("out", 2, 100).orElseThrow().rows());
    serialization.verifySerialization(new NodeState().snapshot(), true);
  }

  @Test
  void aSnapshotStoredWithoutEndedMigrationsStillReads() throws Exception {
    NodeState state = new NodeState();
    state.apply(new Configured(spec(graph(), "f"), "d1"));
    state.apply(new NodeEvent.Resumed("m1"));
    var mapper = org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider.get(testKit.system())
        .getOrCreate("jackson-cbor", java.util.Optional.empty());
    var tree = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.valueToTree(state.snapshot());
    assertTrue(tree.has("endedMigrations"));
    tree.remove("endedMigrations"); // as written before nodes remembered ended migrations (same mapper settings as the binding)
    NodeSnapshot old = mapper.readValue(mapper.writeValueAsBytes(tree), NodeSnapshot.class);
    NodeState restored = NodeState.fromSnapshot(old);
    assertEquals(List.of(), restored.endedMigrations());
    assertEquals("d1", restored.deploymentId());
  }

  @Test
  void windowNodeEventsAndSnapshotSerializeWithTheirOperatorState() {
    NodeId w = new NodeId("w");
    List<NodeSpec> specs =
        new QueryGraph(
                new QueryId("t" + QUERIES.incrementAndGet()),
                List.of(
                    new NodeDef(SRC, new OperatorSpec.Generate(42, 3, 10, 1_000, 10, 0, 0), List.of()),
                    new NodeDef(
                        w,
                        new OperatorSpec.Window(
                            "key", "ts", 100, 0,
                            List.of(
                                new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n"),
                                new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.AVG, "value", "avg"))),
                        List.of(SRC)),
                    new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(w))))
            .compile();
    NodeState state = new NodeState();
    state.apply(new Configured(spec(specs, "w"), "d1"));
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    List<Row> in = rows(0, 150); // event times 1000..1149: the window [1000, 1100) closes

    BatchProcessed event = state.onBatch(SRC, 0, in, 150, false).orElseThrow();
    assertTrue(event.delta() != null && !event.outputs().isEmpty(), "a window delta and closed-window rows");
    state.apply(serialization.verifySerialization(event, true));
    NodeSnapshot snapshot = state.snapshot();
    assertTrue(snapshot.operatorState() != null, "open windows are in the snapshot");
    NodeState restored = NodeState.fromSnapshot(serialization.verifySerialization(snapshot, true));

    BatchProcessed end = state.onBatch(SRC, 150, List.of(), 150, true).orElseThrow();
    assertEquals(end, restored.onBatch(SRC, 150, List.of(), 150, true).orElseThrow(),
        "the restored window flushes the same open windows");
  }

  @Test
  void newDeploymentStartsTheNodeAfresh() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    node.runCommand(new Batch("d1", SRC, 0, rows(0, 4), 4, false));
    expectPull(upstream, 4);

    var result = node.runCommand(new LogicNode.Start(f, "d2"));

    assertEquals(List.of(new Configured(f, "d2")), result.events());
    assertEquals(0, node.getState().inputAnchor(SRC));
    assertEquals(0, node.getState().outputAnchor());
    Pull pull = expectPull(upstream, 0);
    assertEquals("d2", pull.deploymentId());
    assertTrue(node.runCommand(new Batch("d1", SRC, 0, rows(0, 4), 4, false)).hasNoEvents(), "old deployment's batch");
    assertEquals(1, node.runCommand(new Batch("d2", SRC, 0, rows(0, 4), 4, false)).events().size());
  }

  @Test
  void everyMessageAndEventSerializes() {
    List<NodeSpec> specs = graph();
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    ActorRef<Command> ref = testKit.createTestProbe(Command.class).ref();
    ActorRef<LogicNode.SinkRows> sinkRef = testKit.createTestProbe(LogicNode.SinkRows.class).ref();
    ActorRef<LogicNode.NodeStatus> statusRef = testKit.createTestProbe(LogicNode.NodeStatus.class).ref();
    List<Object> all =
        List.of(
            new LogicNode.Start(spec(specs, "src"), "d1"),
            new LogicNode.Start(spec(specs, "f"), "d1"),
            new LogicNode.Start(spec(specs, "out"), "d1"),
            new Pull("d1", "out", 7, 100, ref),
            new Batch("d1", SRC, 0, rows(0, 3), 3, false),
            new Batch("d1", SRC, 3, List.of(), 3, true),
            new LogicNode.Read(0, 10, sinkRef),
            new LogicNode.SinkRows(0, rows(0, 2), 2, false, false),
            new LogicNode.GetStatus(statusRef),
            new LogicNode.NodeStatus("t/f", "pekko://x", true, "d1", Map.of("src", 3L), 5, 2, false, ""),
            new LogicNode.Retire("d1"),
            new NodeEvent.Retired("d1"),
            new Configured(spec(specs, "f"), "d1"),
            new BatchProcessed(SRC, 0, 3, false, null, rows(0, 3), false));
    for (Object o : all) {
      serialization.verifySerialization(o, true);
    }
  }

  @Test
  void sourceNodeReadsToItsEndAndServesItsConsumer() {
    NodeSpec src = spec(graph(), "src");
    TestProbe<Command> nobody = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    var node = node(src, settings, nobody);

    node.runCommand(new LogicNode.Start(src, "d1"));

    consumer.awaitAssert(WAIT, () -> {
      manualTime.timePasses(settings.tick()); // a read that found nothing yet tries again on the next tick
      assertTrue(node.getState().outputDone());
      return null;
    });
    assertEquals(10, node.getState().outputAnchor());
    assertEquals(Map.of(SRC, 10L), node.getState().inputAnchors());
    node.runCommand(new Pull("d1", "f", 0, 100, consumer.ref()));
    Batch rows = consumer.expectMessageClass(Batch.class, WAIT);
    assertEquals(10, rows.rows().size());
    assertEquals(10, rows.next());
    node.runCommand(new Pull("d1", "f", 10, 100, consumer.ref()));
    consumer.expectMessage(WAIT, new Batch("d1", SRC, 10, List.of(), 10, true));
    manualTime.expectNoMessageFor(settings.pullTimeout().multipliedBy(2), nobody);
  }

  @Test
  void sinkIsReadThroughRead() {
    NodeSpec out = spec(graph(), "out");
    TestProbe<Command> upstream = testKit.createTestProbe();
    var node = node(out, settings, upstream);
    node.runCommand(new LogicNode.Start(out, "d1"));
    Pull pull = expectPull(upstream, 0);
    assertEquals("out", pull.consumer());
    List<Row> in = rows(0, 3);
    node.runCommand(new Batch("d1", F, 0, in, 3, false));

    var result = node.<LogicNode.SinkRows>runCommand(replyTo -> new LogicNode.Read(0, 100, replyTo));

    assertEquals(new LogicNode.SinkRows(0, in, 3, false, false), result.reply());
  }

  @Test
  void statusReportsAnchorsAndRetainedRows() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    node.runCommand(new Batch("d1", SRC, 0, rows(0, 6), 6, false));

    var status = node.<LogicNode.NodeStatus>runCommand(LogicNode.GetStatus::new).reply();

    assertEquals(LogicNode.entityId(f.query(), f.id()), status.entityId());
    assertTrue(status.configured());
    assertEquals("d1", status.deploymentId());
    assertEquals(Map.of("src", 6L), status.inputAnchors());
    assertEquals(3, status.outputAnchor());
    assertEquals(3, status.retainedRows());
    assertFalse(status.done());
  }

  @Test
  void retiredNodeStopsAndStaysRetiredAfterRecovery() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> consumer = testKit.createTestProbe();
    String entityId = LogicNode.entityId(f.query(), f.id());
    ActorRef<Command> node = testKit.spawn(LogicNode.create(entityId, settings, peers(f, upstream, testKit.createTestProbe()), clock));
    node.tell(new LogicNode.Start(f, "d1"));
    expectPull(upstream, 0);

    node.tell(new LogicNode.Retire("d1"));

    upstream.expectTerminated(node, WAIT);
    List<Object> events = PersistenceTestKit.create(testKit.system()).persistedInStorage(persistenceId(f));
    assertEquals(new NodeEvent.Retired("d1"), events.get(events.size() - 1));

    ActorRef<Command> again = testKit.spawn(LogicNode.create(entityId, settings, peers(f, upstream, testKit.createTestProbe()), clock));
    again.tell(new LogicNode.Pull("d1", "out", 0, 100, consumer.ref()));
    TestProbe<LogicNode.NodeStatus> status = testKit.createTestProbe();
    again.tell(new LogicNode.GetStatus(status.ref()));
    assertTrue(status.receiveMessage(WAIT).configured());
    // Longer than the pull timeout and the long poll: a retired node neither pulls nor serves.
    manualTime.expectNoMessageFor(settings.pullTimeout().plus(settings.longPoll()), upstream, consumer);
    testKit.stop(again);
  }

  @Test
  void aPauseThatArrivesAfterItsMigrationEndedIsRefusedEvenAfterARestart() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<LogicNode.MoveReply> manager = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    String here = testKit.system().address().toString();

    // m1 rolled back before its (dead manager's) pause arrived: the resume records the end.
    node.runCommand(new LogicNode.Resume("m1", here, 0, manager.ref()));
    assertInstanceOf(LogicNode.ResumedAt.class, manager.receiveMessage(WAIT));
    node.restart();
    node.runCommand(new LogicNode.Pause("m1", manager.ref()));
    LogicNode.NotResumed late = assertInstanceOf(LogicNode.NotResumed.class, manager.receiveMessage(WAIT));
    assertEquals("migration m1 has ended", late.reason());
    assertEquals(java.util.Optional.empty(), node.getState().pausedBy(), "a late pause does not pause the node");

    node.runCommand(new LogicNode.Pause("m2", manager.ref()));
    assertInstanceOf(LogicNode.PausedAt.class, manager.receiveMessage(WAIT));
    node.runCommand(new LogicNode.Pause("m3", manager.ref()));
    assertEquals(new LogicNode.PausedByOther("m3", LogicNode.entityId(f.query(), f.id()), here, "m2"), manager.receiveMessage(WAIT));
  }

  @Test
  void aPreCopyTakesTheSnapshotSoThePauseWritesOnlyItsEvent() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<LogicNode.MoveReply> manager = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    node.runCommand(new Batch("d1", SRC, 0, rows(0, 6), 6, false));
    SnapshotTestKit snapshots = node.snapshotTestKit().orElseThrow();
    int before = snapshots.persistedInStorage(persistenceId(f)).size();

    var preCopy = node.runCommand(new LogicNode.PreCopy("p1", manager.ref()));
    assertEquals(List.of(new NodeEvent.PreCopied("p1")), preCopy.events());
    LogicNode.PreCopiedAt at = assertInstanceOf(LogicNode.PreCopiedAt.class, manager.receiveMessage(WAIT));
    assertEquals(before + 1, snapshots.persistedInStorage(persistenceId(f)).size(), "the pre-copy is a snapshot, taken while running");
    assertEquals(java.util.Optional.empty(), node.getState().pausedBy(), "the node keeps running");

    node.runCommand(new Batch("d1", SRC, 6, rows(6, 4), 10, false)); // the delta after the pre-copy
    var pause = node.runCommand(new LogicNode.Pause("m1", manager.ref()));
    assertEquals(List.of(new NodeEvent.Paused("m1")), pause.events());
    LogicNode.PausedAt paused = assertInstanceOf(LogicNode.PausedAt.class, manager.receiveMessage(WAIT));
    assertEquals(at.seqNr() + 2, paused.seqNr());
    assertEquals(before + 1, snapshots.persistedInStorage(persistenceId(f)).size(), "the stop took no snapshot of its own");

    NodeState recovered = node.restart().state(); // as the target recovers: the pre-copy snapshot and the delta
    assertEquals(Map.of(SRC, 10L), recovered.inputAnchors());
    assertEquals(java.util.Optional.of("m1"), recovered.pausedBy());
  }

  @Test
  void aPauseLongAfterAPreCopyTakesItsOwnSnapshot() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<LogicNode.MoveReply> manager = testKit.createTestProbe();
    var node = node(f, settings, upstream);
    started(node, f, upstream);
    node.runCommand(new LogicNode.PreCopy("p1", manager.ref()));
    manager.receiveMessage(WAIT);
    for (int i = 0; i <= MoveCheckpoint.PRE_COPY_DELTA_EVENTS_MAX; i++) {
      node.runCommand(new Batch("d1", SRC, i, rows(i, 1), i + 1, false));
    }
    SnapshotTestKit snapshots = node.snapshotTestKit().orElseThrow();
    int before = snapshots.persistedInStorage(persistenceId(f)).size();
    node.runCommand(new LogicNode.Pause("m1", manager.ref()));
    manager.receiveMessage(WAIT);
    assertEquals(before + 1, snapshots.persistedInStorage(persistenceId(f)).size(), "too many events to replay: the stop snapshots");
  }

  @Test
  void aResumeForTheTargetIsHeldAndHandedToTheNewIncarnationAtTheHandOff() {
    NodeSpec f = spec(graph(), "f");
    TestProbe<Command> upstream = testKit.createTestProbe();
    TestProbe<Command> self = testKit.createTestProbe(); // the node's own entity ref, as its peers function gives it
    TestProbe<LogicNode.MoveReply> manager = testKit.createTestProbe();
    ActorRef<Command> node = testKit.spawn(
        LogicNode.create(LogicNode.entityId(f.query(), f.id()), settings, peers(f, upstream, self), clock));
    node.tell(new LogicNode.Start(f, "d1"));
    node.tell(new LogicNode.Pause("m1", manager.ref()));
    assertInstanceOf(LogicNode.PausedAt.class, manager.receiveMessage(WAIT));

    LogicNode.Resume resume = new LogicNode.Resume("m1", "pekko://ferry@10.0.0.9:2552", 3, manager.ref());
    node.tell(resume);
    node.tell(new LogicNode.Resume("m0", "pekko://ferry@10.0.0.9:2552", 3, manager.ref()));
    // the resume of the migration that paused it is held (its new incarnation answers); another one is answered
    LogicNode.NotResumed other = assertInstanceOf(LogicNode.NotResumed.class, manager.receiveMessage(WAIT));
    assertEquals("m0", other.migrationId());

    node.tell(LogicNode.HandOff.INSTANCE);
    assertEquals(resume, self.expectMessageClass(LogicNode.Resume.class, WAIT));
    self.expectTerminated(node, WAIT);
  }
}
