package io.ferry.simulator.protocol;

import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.Row;
import java.util.List;

/**
 * What simulated logic nodes, the sink reader and the placement manager send each other: the
 * subset of {@code LogicNode.Command} the pull/anchor and move protocols use, with instance ids in
 * place of actor refs. Move replies name the manager incarnation that asked: a restarted manager
 * does not hear its predecessor's answers, as an ask's temporary actor dies with its member. A
 * move message carries the id of the manager's ask ({@link #NO_ASK} for a tell) and the reply echoes
 * it: the manager takes a reply only while that ask has not timed out, as Pekko's ask does.
 */
sealed interface Message {

  /** The ask id of a move message sent without waiting for its answer. */
  long NO_ASK = -1;

  /** Trace text: kind and anchors, never row contents. */
  String describe();

  /** The registry's periodic, idempotent start. */
  record Start(NodeSpec spec, String deploymentId) implements Message {
    public String describe() {
      return "Start " + spec.id().value();
    }
  }

  /** {@code replyTo} is an instance id: a reply to an instance that has since stopped is lost. */
  /** {@code slice}: only the rows of these key groups (an instance of a keyed node), null for every row. */
  record Pull(String deploymentId, String consumer, long after, int max, String replyTo, io.ferry.query.KeySlice slice) implements Message {
    public Pull(String deploymentId, String consumer, long after, int max, String replyTo) {
      this(deploymentId, consumer, after, max, replyTo, null);
    }

    public String describe() {
      return "Pull from=" + consumer + " after=" + after + " replyTo=" + replyTo + (slice == null ? "" : " groups=[" + slice.firstGroup() + "," + slice.endGroup() + ")");
    }
  }

  /** Cut to {@code slice} when not null, as the runtime's {@code LogicNode.Batch}. */
  record Batch(String deploymentId, NodeId upstream, long from, List<Row> rows, long next, boolean done, io.ferry.query.KeySlice slice,
      long[] maxTimeLeftOut) implements Message {
    public Batch(String deploymentId, NodeId upstream, long from, List<Row> rows, long next, boolean done) {
      this(deploymentId, upstream, from, rows, next, done, null, null);
    }

    public String describe() {
      return "Batch up=" + upstream.value() + " " + from + ".." + next + (done ? " done" : "")
          + (slice == null ? "" : " " + rows.size() + " rows of groups [" + slice.firstGroup() + "," + slice.endGroup() + ")");
    }
  }

  record Poke(String deploymentId, NodeId upstream) implements Message {
    public String describe() {
      return "Poke up=" + upstream.value();
    }
  }

  /** The sink reader's read ({@code Ferry.read}); the reply goes to the reader. */
  record Read(long after, int max) implements Message {
    public String describe() {
      return "Read after=" + after;
    }
  }

  record SinkRows(long from, List<Row> rows, long next, boolean done, boolean gap) implements Message {
    public String describe() {
      return "SinkRows " + from + ".." + next + (done ? " done" : "") + (gap ? " gap" : "");
    }
  }

  /** Before a move's stop, as {@code LogicNode.PreCopy}: snapshot now, while running. {@code moveId} names the pre-copy. */
  record PreCopy(String moveId, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "PreCopy " + moveId;
    }
  }

  /** As {@code LogicNode.PreCopiedAt}: the pre-copy's event is at {@code seqNr}. */
  record PreCopiedAt(String moveId, NodeId node, long seqNr, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "PreCopiedAt " + moveId + " " + node.value() + " seq=" + seqNr;
    }
  }

  /** Step 1 of a move, as {@code LogicNode.Pause}. */
  record Pause(String migrationId, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "Pause " + migrationId;
    }
  }

  /** The restore step, as {@code LogicNode.Resume}: {@code expectedSite} stands for the expected address. */
  record Resume(String migrationId, String expectedSite, long checkpointSeqNr, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "Resume " + migrationId + " at " + expectedSite + " checkpoint=" + checkpointSeqNr;
    }
  }

  record PausedAt(String migrationId, NodeId node, long seqNr, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "PausedAt " + migrationId + " " + node.value() + " seq=" + seqNr;
    }
  }

  /** As {@code LogicNode.PausedByOther}: migration {@code pausedBy} holds the node paused. */
  record PausedByOther(String migrationId, NodeId node, String pausedBy, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "PausedByOther " + migrationId + " " + node.value() + " by " + pausedBy;
    }
  }

  record ResumedAt(String migrationId, NodeId node, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "ResumedAt " + migrationId + " " + node.value();
    }
  }

  record NotResumed(String migrationId, NodeId node, String reason, int managerEpoch, long askId) implements Message {
    public String describe() {
      return "NotResumed " + migrationId + " " + node.value() + ": " + reason;
    }
  }
}
