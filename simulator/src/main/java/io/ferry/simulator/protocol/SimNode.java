package io.ferry.simulator.protocol;

import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.node.NodeEvent;
import io.ferry.query.node.LogicNode;
import io.ferry.query.node.MoveCheckpoint;
import io.ferry.query.node.NodeEvent.BatchProcessed;
import io.ferry.query.node.NodeState;
import io.ferry.simulator.protocol.Message.Batch;
import io.ferry.simulator.protocol.Message.Poke;
import io.ferry.simulator.protocol.Message.Pull;
import io.ferry.simulator.protocol.Message.Read;
import io.ferry.simulator.protocol.Message.SinkRows;
import io.ferry.simulator.protocol.Message.Start;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One running instance of a logic node in a protocol simulation: the real {@link NodeState} inside
 * a copy of {@code LogicNode}'s shell (one pull in flight per upstream and retry after the pull
 * timeout, held pulls answered empty after the long poll, source reads, pokes after recovery and
 * resume, pause and resume for moves), with persistence against a {@link SimJournal}. As in Pekko, messages that arrive while
 * the instance recovers or persists are stashed, and an event changes the state only once it is
 * durable. A crashed instance loses its memory, timers, stash and unfinished writes.
 */
final class SimNode {

  /** Timings and limits of every node of one run, in simulated microseconds. */
  record Settings(
      int batchRowsMax,
      long retainRowsMax,
      long pullTimeoutMicros,
      long longPollMicros,
      long tickMicros,
      int snapshotEvery,
      long persistMinMicros,
      long persistMaxMicros,
      double pStall,
      long stallMaxMicros,
      long recoveryMinMicros,
      long recoveryMaxMicros) {}

  /** What an instance needs from its simulation. */
  interface Host {
    Scheduler scheduler();

    SimRandom random();

    SimNetwork network();

    Settings settings();

    /** The anchor check every instance's state runs: exact, or broken on purpose for the dedup-off run. */
    NodeState.AnchorCheck anchorCheck();

    /** The instance stopped itself (a resume found its recovery behind the checkpoint): start it again. */
    void restart(SimNode instance);

    /** Journal faults (stalls) stop at the heal time too. */
    boolean healed();

    /**
     * A consumer asked for rows the node had already dropped: once-only is broken if the consumer
     * has not persisted them, a stale (repeated or overtaken) pull if it has.
     */
    void gap(String instance, NodeId upstream, String consumer, long after, long base);
  }

  private static final int STASH_MAX = 100_000;

  private record HeldPull(Pull pull, long sinceMicros) {}

  private final Host host;
  private final SimJournal journal;
  private final NodeId node;
  private final String instance;
  private final String site;
  private final Settings settings;
  private NodeState state;
  private boolean alive = true;
  private boolean crashed;
  private boolean recovered;
  private boolean persisting;
  private long seqNr;
  /** This incarnation's last pre-copy event, or -1 (as {@code LogicNode}'s: not persisted). */
  private long preCopiedSeqNr = -1;
  private final ArrayDeque<Runnable> stash = new ArrayDeque<>();
  private final Map<NodeId, Long> pullsInFlight = new LinkedHashMap<>();
  private final Map<String, HeldPull> heldPulls = new LinkedHashMap<>();
  private boolean readScheduled;
  private long paceStartMicros = -1;
  private long pacedRows;

  SimNode(Host host, SimJournal journal, NodeId node, String instance, String site) {
    this.host = host;
    this.journal = journal;
    this.node = node;
    this.instance = instance;
    this.site = site;
    this.settings = host.settings();
    this.state = new NodeState(host.anchorCheck());
    long recovery = host.random().between(settings.recoveryMinMicros(), settings.recoveryMaxMicros());
    host.scheduler().after(recovery, instance, "recovered", "", this::recover);
  }

  String instance() {
    return instance;
  }

  NodeId node() {
    return node;
  }

  /** Where this instance runs: the node's site when it was started. */
  String site() {
    return site;
  }

  boolean alive() {
    return alive;
  }

  /** Recovered, and not in the middle of a write: the manager may talk to it. */
  boolean ready() {
    return alive && recovered;
  }

  NodeState state() {
    return state;
  }

  long seqNr() {
    return seqNr;
  }

  /** The member died: everything in memory and every unfinished write is gone. */
  void crash() {
    alive = false;
    crashed = true;
    stash.clear();
  }

  /** Sharding stopped the entity (a move's hand-off): as a crash, but its snapshot writes finish. */
  void stop() {
    alive = false;
    stash.clear();
  }

  /** The inbox the network delivers to. */
  void receive(Message m) {
    if (m instanceof Start s) {
      deliver(() -> onStart(s));
    } else if (m instanceof Pull p) {
      deliver(() -> onPull(p));
    } else if (m instanceof Batch b) {
      deliver(() -> onBatch(b));
    } else if (m instanceof Poke p) {
      deliver(() -> onPoke(p));
    } else if (m instanceof Read r) {
      deliver(() -> onRead(r));
    } else if (m instanceof Message.PreCopy p) {
      deliver(() -> onPreCopy(p));
    } else if (m instanceof Message.Pause p) {
      deliver(() -> onPause(p));
    } else if (m instanceof Message.Resume r) {
      deliver(() -> onResume(r));
    } else {
      throw new IllegalArgumentException(instance + " cannot handle " + m.describe());
    }
  }

  /** Runs a command now, or stashes it while the instance recovers or persists. */
  private void deliver(Runnable command) {
    if (!alive) {
      return;
    }
    if (!recovered || persisting) {
      if (stash.size() >= STASH_MAX) {
        throw new IllegalStateException(instance + ": stash over " + STASH_MAX + " commands");
      }
      stash.addLast(command);
      return;
    }
    command.run();
  }

  private void unstash() {
    while (alive && recovered && !persisting && !stash.isEmpty()) {
      stash.removeFirst().run();
    }
  }

  private void recover() {
    if (!alive) {
      return;
    }
    Optional<SimJournal.Snapshot> snap = journal.snapshot();
    state = snap.map(s -> NodeState.fromSnapshot(s.snapshot(), host.anchorCheck())).orElseGet(() -> new NodeState(host.anchorCheck()));
    seqNr = snap.map(SimJournal.Snapshot::seqNr).orElse(0L);
    for (SimJournal.Entry e : journal.eventsAfterSnapshot()) {
      state.apply(e.event());
      seqNr = e.seqNr();
    }
    state.recovered();
    recovered = true;
    scheduleTick();
    if (state.configured()) {
      pokeConsumers();
      drive();
    }
    unstash();
  }

  private void scheduleTick() {
    host.scheduler().after(settings.tickMicros(), instance, "tick", "", () -> deliver(this::onTick));
  }

  /** Persists {@code event}: after the write it is durable, then applied, then {@code then} runs. */
  private void persist(NodeEvent event, Runnable then) {
    persisting = true;
    long latency = host.random().between(settings.persistMinMicros(), settings.persistMaxMicros());
    if (!host.healed() && host.random().chance(settings.pStall())) {
      latency += host.random().between(0, settings.stallMaxMicros());
    }
    host.scheduler().after(latency, instance, "persisted", eventName(event), () -> persisted(event, then));
  }

  private void persisted(NodeEvent event, Runnable then) {
    if (!alive) {
      return; // the write died with the instance: it never happened
    }
    seqNr++;
    journal.append(seqNr, event);
    state.apply(event);
    persisting = false;
    if (MoveCheckpoint.snapshotAfter(event, seqNr, preCopiedSeqNr) || seqNr % settings.snapshotEvery() == 0) {
      saveSnapshot();
    }
    then.run();
    unstash();
  }

  /** Snapshots are written after the event, asynchronously; a crash before the write loses it. */
  private void saveSnapshot() {
    long at = seqNr;
    var snapshot = state.snapshot();
    long latency = host.random().between(settings.persistMinMicros(), settings.persistMaxMicros());
    host.scheduler().after(latency, instance, "snapshot", "seq=" + at, () -> {
      if (!crashed) {
        journal.saveSnapshot(at, snapshot);
      }
    });
  }

  private static String eventName(NodeEvent e) {
    if (e instanceof BatchProcessed b) {
      return "BatchProcessed up=" + b.upstream().value() + " " + b.from() + ".." + b.next() + " out=" + b.outputs().size()
          + (b.outputDone() ? " done" : "");
    }
    return e.getClass().getSimpleName();
  }

  private void onStart(Start start) {
    if (state.configured() && state.deploymentId().equals(start.deploymentId())) {
      return;
    }
    pullsInFlight.clear();
    heldPulls.clear();
    persist(new NodeEvent.Configured(start.spec(), start.deploymentId()), this::drive);
  }

  private void onPull(Pull pull) {
    if (!state.configured() || !state.deploymentId().equals(pull.deploymentId()) || state.retired()) {
      return;
    }
    if (!answer(pull)) {
      heldPulls.put(pull.consumer(), new HeldPull(pull, host.scheduler().nowMicros()));
    }
    drive();
  }

  private boolean answer(Pull pull) {
    Optional<NodeState.Served> served = state.serve(pull.consumer(), pull.after(), Math.min(pull.max(), settings.batchRowsMax()), pull.slice());
    if (served.isEmpty()) {
      return false;
    }
    NodeState.Served s = served.get();
    if (s.gap()) {
      host.gap(instance, node, pull.consumer(), pull.after(), state.outputBase());
      return true;
    }
    host.network().send(
        instance,
        new SimNetwork.ToInstance(pull.replyTo()),
        new Batch(state.deploymentId(), state.spec().id(), s.from(), s.rows(), s.next(), s.done(), s.slice(), s.maxTimeLeftOut()));
    return true;
  }

  private void onBatch(Batch batch) {
    if (!state.configured() || !state.deploymentId().equals(batch.deploymentId())) {
      return;
    }
    Optional<BatchProcessed> event =
        state.onBatch(batch.upstream(), batch.from(), batch.rows(), batch.next(), batch.done(), batch.slice(), batch.maxTimeLeftOut());
    if (batch.from() == state.inputAnchor(batch.upstream())) {
      pullsInFlight.remove(batch.upstream());
    }
    if (event.isEmpty()) {
      drive();
      return;
    }
    persist(event.get(), this::afterPersist);
  }

  private void onReadSource() {
    readScheduled = false;
    if (!state.configured() || !state.isSource() || !state.wantsInput(settings.retainRowsMax())) {
      return;
    }
    Optional<BatchProcessed> event = state.readSource(paceBudget());
    if (event.isEmpty()) {
      return;
    }
    pacedRows += event.get().outputs().size();
    persist(event.get(), this::afterPersist);
  }

  /** As {@code LogicNode.paceBudget}, on the simulated clock. */
  private int paceBudget() {
    int max = settings.batchRowsMax();
    if (state.spec().op() instanceof OperatorSpec.Generate g && g.ratePerSecond() > 0) {
      long now = host.scheduler().nowMicros();
      if (paceStartMicros < 0) {
        paceStartMicros = now;
      }
      long allowed = (long) ((now - paceStartMicros) / 1e6 * g.ratePerSecond()) - pacedRows;
      max = (int) Math.max(0, Math.min(max, allowed));
    }
    return max;
  }

  private void afterPersist() {
    heldPulls.values().removeIf(h -> answer(h.pull()));
    drive();
  }

  private void onRead(Read read) {
    SinkRows reply;
    if (!state.configured()) {
      reply = new SinkRows(read.after(), List.of(), read.after(), false, false);
    } else {
      NodeState.Served s =
          state.serve(NodeState.READER, read.after(), Math.min(read.max(), settings.batchRowsMax()))
              .orElse(new NodeState.Served(read.after(), List.of(), read.after(), false, false));
      reply = new SinkRows(s.from(), s.rows(), s.next(), s.done(), s.gap());
    }
    host.network().send(instance, new SimNetwork.ToReader(), reply);
    drive();
  }

  private void onPoke(Poke poke) {
    if (state.configured() && state.deploymentId().equals(poke.deploymentId()) && state.spec().inputs().contains(poke.upstream())) {
      pullsInFlight.remove(poke.upstream());
      drive();
    }
  }

  private void pokeConsumers() {
    if (state.retired()) {
      return;
    }
    for (NodeId downstream : state.spec().outputs()) {
      host.network().send(instance, new SimNetwork.ToNode(downstream.value()), new Poke(state.deploymentId(), state.spec().id()));
    }
  }

  /** A move's pre-copy, answered as {@code LogicNode.onPreCopy}: {@link MoveCheckpoint} decides. */
  private void onPreCopy(Message.PreCopy p) {
    if (!MoveCheckpoint.canPreCopy(state)) {
      reply(new Message.NotResumed(p.moveId(), node, "no pre-copy: not running", p.managerEpoch(), p.askId()));
      return;
    }
    persist(new NodeEvent.PreCopied(p.moveId()), () -> {
      preCopiedSeqNr = seqNr;
      reply(new Message.PreCopiedAt(p.moveId(), node, seqNr, p.managerEpoch(), p.askId()));
    });
  }

  /** Step 1 of a move, answered as {@code LogicNode.onPause} answers it: {@link NodeState#pause} decides. */
  private void onPause(Message.Pause pause) {
    String id = pause.migrationId();
    int epoch = pause.managerEpoch();
    long ask = pause.askId();
    NodeState.PauseAnswer answer = state.pause(id);
    if (answer instanceof NodeState.NotRunningYet) {
      reply(new Message.NotResumed(id, node, LogicNode.NOT_RUNNING, epoch, ask));
    } else if (answer instanceof NodeState.AlreadyPaused) {
      reply(new Message.PausedAt(id, node, seqNr, epoch, ask));
    } else if (answer instanceof NodeState.PausedByOther other) {
      reply(new Message.PausedByOther(id, node, other.migrationId(), epoch, ask));
    } else if (answer instanceof NodeState.MigrationOver over) {
      reply(new Message.NotResumed(id, node, "migration " + over.migrationId() + " has ended", epoch, ask));
    } else {
      pullsInFlight.clear();
      persist(((NodeState.PersistPause) answer).event(), () -> reply(new Message.PausedAt(id, node, seqNr, epoch, ask)));
    }
  }

  /** The restore step, answered as {@code LogicNode.onResume}: {@link NodeState#resume} decides. */
  private void onResume(Message.Resume resume) {
    String id = resume.migrationId();
    int epoch = resume.managerEpoch();
    long ask = resume.askId();
    NodeState.ResumeAnswer answer = state.resume(id, site.equals(resume.expectedSite()), seqNr, resume.checkpointSeqNr());
    if (answer instanceof NodeState.RunsElsewhere) {
      reply(new Message.NotResumed(id, node, "runs at " + site, epoch, ask));
    } else if (answer instanceof NodeState.BehindCheckpoint behind) {
      reply(new Message.NotResumed(id, node, behind.reason(), epoch, ask));
      host.restart(this);
    } else if (answer instanceof NodeState.AlreadyResumed) {
      reply(new Message.ResumedAt(id, node, epoch, ask));
    } else {
      persist(((NodeState.PersistResume) answer).event(), () -> {
        reply(new Message.ResumedAt(id, node, epoch, ask));
        if (state.configured()) {
          pokeConsumers();
          drive();
        }
      });
    }
  }

  private void reply(Message m) {
    host.network().send(instance, new SimNetwork.ToManager(), m);
  }

  private void onTick() {
    scheduleTick();
    if (!state.configured()) {
      return;
    }
    long now = host.scheduler().nowMicros();
    for (Iterator<HeldPull> it = heldPulls.values().iterator(); it.hasNext(); ) {
      HeldPull h = it.next();
      if (now - h.sinceMicros() >= settings.longPollMicros()) {
        Pull p = h.pull();
        host.network().send(
            instance, new SimNetwork.ToInstance(p.replyTo()), new Batch(state.deploymentId(), state.spec().id(), p.after(), List.of(), p.after(), false));
        it.remove();
      }
    }
    pullsInFlight.values().removeIf(sent -> now - sent > settings.pullTimeoutMicros());
    drive();
  }

  /** Sends the pulls (or schedules the source read) the node may make now. */
  private void drive() {
    if (!state.configured() || !state.wantsInput(settings.retainRowsMax())) {
      return;
    }
    if (state.isSource()) {
      if (!readScheduled) {
        readScheduled = true;
        host.scheduler().after(0, instance, "read-source", "", () -> deliver(this::onReadSource));
      }
      return;
    }
    long now = host.scheduler().nowMicros();
    NodeSpec spec = state.spec();
    for (NodeId upstream : state.openInputs()) {
      if (pullsInFlight.containsKey(upstream)) {
        continue;
      }
      pullsInFlight.put(upstream, now);
      host.network().send(
          instance,
          new SimNetwork.ToNode(upstream.value()),
          new Pull(state.deploymentId(), spec.id().value(), state.inputAnchor(upstream), settings.batchRowsMax(), instance, state.inputSlice()));
    }
  }
}
