package io.ferry.simulator.protocol;

import io.ferry.query.node.NodeEvent;
import io.ferry.query.node.NodeSnapshot;
import io.ferry.query.NodeId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One logic node's durable store in a simulation: its persisted events by sequence number and its
 * latest snapshot. It outlives every instance of the node; it checks that sequence numbers grow
 * by one, which two live instances writing at once would break.
 */
final class SimJournal {

  record Entry(long seqNr, NodeEvent event) {}

  record Snapshot(long seqNr, NodeSnapshot snapshot) {}

  private final String node;
  private final List<Entry> events = new ArrayList<>();
  private Snapshot snapshot;
  private long lastSeqNr;
  /** The input anchor per upstream as of the last durable event: what the node has persisted. */
  private final Map<NodeId, Long> durableAnchors = new LinkedHashMap<>();

  SimJournal(String node) {
    this.node = node;
  }

  long lastSeqNr() {
    return lastSeqNr;
  }

  /** Makes {@code event} durable as number {@code seqNr}, which must follow the last one. */
  void append(long seqNr, NodeEvent event) {
    if (seqNr != lastSeqNr + 1) {
      throw new IllegalStateException(
          "journal of " + node + ": event " + seqNr + " does not follow " + lastSeqNr + " (two writers?)");
    }
    events.add(new Entry(seqNr, event));
    lastSeqNr = seqNr;
    if (event instanceof NodeEvent.Configured) {
      durableAnchors.clear();
    } else if (event instanceof NodeEvent.BatchProcessed b) {
      durableAnchors.put(b.upstream(), b.next());
    }
  }

  long durableAnchor(NodeId upstream) {
    return durableAnchors.getOrDefault(upstream, 0L);
  }

  /** Keeps {@code s} if it is newer than the stored one, and deletes the events it covers. */
  void saveSnapshot(long seqNr, NodeSnapshot s) {
    if (snapshot != null && snapshot.seqNr() >= seqNr) {
      return;
    }
    snapshot = new Snapshot(seqNr, s);
    events.removeIf(e -> e.seqNr() <= seqNr);
  }

  Optional<Snapshot> snapshot() {
    return Optional.ofNullable(snapshot);
  }

  /** Events after the snapshot, in order: what recovery replays. */
  List<Entry> eventsAfterSnapshot() {
    long from = snapshot == null ? 0 : snapshot.seqNr();
    List<Entry> out = new ArrayList<>();
    for (Entry e : events) {
      if (e.seqNr() > from) {
        out.add(e);
      }
    }
    return out;
  }

  int storedEvents() {
    return events.size();
  }
}
