package io.ferry.query.node;

import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import io.ferry.query.node.NodeEvent.BatchProcessed;
import io.ferry.query.node.NodeEvent.Configured;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.AbstractPersistentActor;
import org.apache.pekko.persistence.DeleteSnapshotsFailure;
import org.apache.pekko.persistence.DeleteSnapshotsSuccess;
import org.apache.pekko.persistence.SaveSnapshotFailure;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warms a member for the first node that moves to it, once, when the member starts. The first move
 * of a demo paused its window for 1.7 s, most of it first-time work on both members: Jackson
 * building its (de)serializers for snapshot, event and message classes, the journal plugin
 * compiling its snapshot and replay queries and opening connections, the JIT. Here each member
 * round-trips a real window node's snapshot, events and move messages through its serializers, and
 * a throw-away persistent actor recovers (snapshot and replay queries), saves a snapshot and deletes
 * it again (save and delete queries). It writes no event; its one snapshot row is deleted at once.
 */
public final class NodeWarmUp extends AbstractPersistentActor {

  private static final Logger log = LoggerFactory.getLogger(NodeWarmUp.class);

  /** Starts the warm-up on {@code system}; it stops itself when done. */
  public static void start(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    ExtendedActorSystem classic = (ExtendedActorSystem) Adapter.toClassic(system);
    // One id per member incarnation: two members never share the throw-away snapshot.
    start(system, "ferry-node-warm-up|" + classic.provider().getDefaultAddress() + "#" + System.nanoTime());
  }

  static void start(org.apache.pekko.actor.typed.ActorSystem<?> system, String persistenceId) {
    ExtendedActorSystem classic = (ExtendedActorSystem) Adapter.toClassic(system);
    classic.systemActorOf(Props.create(NodeWarmUp.class, () -> new NodeWarmUp(classic, persistenceId)), "ferry-node-warm-up");
  }

  private final String persistenceId;
  private final NodeSnapshot sample;
  private final long startNanos = System.nanoTime();

  private NodeWarmUp(ActorSystem system, String persistenceId) {
    this.persistenceId = persistenceId;
    NodeSnapshot s = null;
    try {
      s = roundTrip(SerializationExtension.get(system));
    } catch (RuntimeException e) {
      log.warn("node warm-up could not round-trip a window node's snapshot and events: {}", e.toString());
    }
    this.sample = s;
  }

  @Override
  public String persistenceId() {
    return persistenceId;
  }

  @Override
  public Receive createReceiveRecover() {
    return receiveBuilder()
        .match(org.apache.pekko.persistence.RecoveryCompleted.class, done -> {
          if (sample == null) {
            finish("skipped the snapshot store");
          } else {
            saveSnapshot(sample);
          }
        })
        .matchAny(ignored -> {})
        .build();
  }

  @Override
  public Receive createReceive() {
    return receiveBuilder()
        .match(SaveSnapshotSuccess.class, ok -> deleteSnapshots(SnapshotSelectionCriteria.latest()))
        .match(DeleteSnapshotsSuccess.class, ok -> finish("done"))
        .match(SaveSnapshotFailure.class, f -> finish("snapshot save failed: " + f.cause()))
        .match(DeleteSnapshotsFailure.class, f -> finish("snapshot delete failed: " + f.cause()))
        .build();
  }

  @Override
  public void onRecoveryFailure(Throwable cause, scala.Option<Object> event) {
    finish("recovery failed: " + cause);
  }

  private void finish(String outcome) {
    log.debug("node warm-up {} in {} ms", outcome, (System.nanoTime() - startNanos) / 1_000_000);
    getContext().stop(getSelf());
  }

  /**
   * A small window query run through the production code (source read, window batch, snapshot),
   * and its snapshot, events and messages serialized and read back; returns the snapshot.
   */
  static NodeSnapshot roundTrip(Serialization serialization) {
    NodeId src = new NodeId("src");
    NodeId window = new NodeId("window");
    List<NodeSpec> specs =
        new QueryGraph(
                new QueryId("ferry-warm-up"),
                List.of(
                    new NodeDef(src, new OperatorSpec.Generate(1, 8, 64, 1_700_000_000_000L, 2, 0, 0), List.of()),
                    new NodeDef(window, new OperatorSpec.Window("key", "ts", 1_000, 0,
                        List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n"),
                            new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.SUM, "value", "total"),
                            new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.AVG, "value", "mean"))), List.of(src)),
                    new NodeDef(new NodeId("out"), new OperatorSpec.Collect(), List.of(window))))
            .compile();
    NodeState source = new NodeState();
    source.apply(new Configured(spec(specs, src), "warm-up"));
    BatchProcessed read = source.readSource(64).orElseThrow();
    source.apply(read);
    NodeState win = new NodeState();
    win.apply(new Configured(spec(specs, window), "warm-up"));
    BatchProcessed batch = win.onBatch(src, read.from(), read.outputs(), read.next(), false).orElseThrow();
    win.apply(batch);
    win.apply(new NodeEvent.Paused("warm-up"));
    NodeSnapshot snapshot = win.snapshot();
    List<Object> all = new ArrayList<>(List.of(snapshot, read, batch, new NodeEvent.Paused("warm-up"), new NodeEvent.Resumed("warm-up"),
        new LogicNode.Batch("warm-up", src, read.from(), read.outputs(), read.next(), false),
        new LogicNode.PausedAt("warm-up", "ferry-warm-up/window", "", 1), new LogicNode.ResumedAt("warm-up", "ferry-warm-up/window", "")));
    for (Object o : all) {
      byte[] bytes = serialization.serialize(o).get();
      serialization.deserialize(bytes, serialization.findSerializerFor(o).identifier(), Serializers.manifestFor(serialization.findSerializerFor(o), o)).get();
    }
    NodeState.fromSnapshot(snapshot).close();
    source.close();
    win.close();
    return snapshot;
  }

  private static NodeSpec spec(List<NodeSpec> specs, NodeId id) {
    return specs.stream().filter(s -> s.id().equals(id)).findFirst().orElseThrow();
  }
}
