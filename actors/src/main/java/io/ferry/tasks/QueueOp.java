package io.ferry.tasks;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.ferry.persistence.CborSerializable;

/**
 * One operation on the job queue, stamped with the primary's time: the queue host's journal event
 * and the unit of replication. Applying the same operations in the same order to a fresh {@link
 * JobQueue} gives the same state, so a replica or a recovering host replays them.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
  @JsonSubTypes.Type(value = QueueOp.Submit.class, name = "submit"),
  @JsonSubTypes.Type(value = QueueOp.LeaseTasks.class, name = "lease"),
  @JsonSubTypes.Type(value = QueueOp.Renew.class, name = "renew"),
  @JsonSubTypes.Type(value = QueueOp.Complete.class, name = "complete"),
  @JsonSubTypes.Type(value = QueueOp.Cancel.class, name = "cancel"),
  @JsonSubTypes.Type(value = QueueOp.PoolUp.class, name = "pool-up"),
  @JsonSubTypes.Type(value = QueueOp.PoolDown.class, name = "pool-down"),
  @JsonSubTypes.Type(value = QueueOp.Expire.class, name = "expire"),
  @JsonSubTypes.Type(value = QueueOp.TakeOver.class, name = "take-over"),
  @JsonSubTypes.Type(value = QueueOp.Batch.class, name = "batch")
})
public sealed interface QueueOp extends CborSerializable {
  long atMillis();

  /** Applies this operation; returns what the caller is told (refusals of bad input are returned as their message). */
  Object applyTo(JobQueue q);

  record Submit(JobSpec job, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      try {
        return q.submit(job, atMillis);
      } catch (IllegalArgumentException | IllegalStateException e) {
        return e.getMessage();
      }
    }
  }

  record LeaseTasks(PoolId pool, String holder, int max, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      return q.isLive(pool) ? q.lease(pool, holder, max, atMillis) : java.util.List.<Lease>of();
    }
  }

  record Renew(TaskId task, long epoch, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      return q.renew(task, epoch, atMillis);
    }
  }

  record Complete(TaskId task, long epoch, Outcome outcome, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      return q.complete(task, epoch, outcome, atMillis);
    }
  }

  record Cancel(JobId job, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      try {
        return q.cancel(job, atMillis);
      } catch (IllegalArgumentException e) {
        return e.getMessage();
      }
    }
  }

  record PoolUp(PoolSpec pool, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      q.poolUp(pool);
      return Boolean.TRUE;
    }
  }

  record PoolDown(PoolId pool, long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      if (q.pools().stream().anyMatch(p -> p.id().equals(pool))) {
        q.poolDown(pool);
      }
      return Boolean.TRUE;
    }
  }

  /** Returns the tasks whose leases ran out to the queue (a tick's, so status shows them promptly). */
  record Expire(long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      return q.expire(atMillis);
    }
  }

  /**
   * Operations written together as one journal event: one row per batch instead of one per lease,
   * renewal or result. Applying it applies each in order; its result is the list of theirs.
   */
  record Batch(java.util.List<QueueOp> ops, long atMillis) implements QueueOp {
    public Batch {
      ops = java.util.List.copyOf(ops);
      if (ops.isEmpty() || ops.stream().anyMatch(op -> op instanceof Batch)) {
        throw new IllegalArgumentException("a batch holds one or more operations and no batches");
      }
    }

    @Override
    public Object applyTo(JobQueue q) {
      java.util.List<Object> results = new java.util.ArrayList<>(ops.size());
      ops.forEach(op -> results.add(op.applyTo(q)));
      return results;
    }
  }

  /** A queue host started (after a crash or a hand-over): held leases run a full duration from now. */
  record TakeOver(long atMillis) implements QueueOp {
    @Override
    public Object applyTo(JobQueue q) {
      q.takeOver(atMillis);
      return Boolean.TRUE;
    }
  }
}
