package io.ferry.tasks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One pool's scheduler, on the worker's side of the queue: how many tasks to ask for (its sized
 * slots minus what it holds), when each held lease is due for renewal (a third of its duration,
 * the heartbeat), and when a lease must be taken as lost because no renewal got through in time.
 *
 * <p>A worker counts its lease from the moment it <em>sent</em> the request that got or renewed it,
 * never from when the answer arrived: the queue's lease started later than that, so the worker
 * stops its task before the queue can hand it to another pool (given clocks that run at the same
 * rate). That is what keeps a task from running on two pools at once across a partition.
 */
public final class PoolScheduler {
  /** A lease this pool holds, as the worker measures it on its own clock. */
  public record Held(Lease lease, Duration duration, long deadlineMillis, long renewAtMillis, boolean renewing) {}

  private final PoolId pool;
  private final PoolSizer sizer;
  private final Map<TaskId, Held> held = new TreeMap<>();

  private PoolScheduler(PoolId pool, PoolSizer sizer) {
    this.pool = pool;
    this.sizer = sizer;
  }

  public static PoolScheduler create(PoolId pool, PoolSizer sizer) {
    return new PoolScheduler(pool, sizer);
  }

  public PoolId pool() {
    return pool;
  }

  public PoolSizer sizer() {
    return sizer;
  }

  /** How many more tasks to lease now. */
  public int wanted() {
    return wanted(0);
  }

  /**
   * How many more tasks to lease in a request that also reports the outcomes of {@code reporting}
   * held attempts: the queue applies those reports first, so their slots are free by the time
   * the lease is granted (and if the request goes unanswered, nothing is granted either).
   */
  public int wanted(int reporting) {
    if (reporting < 0 || reporting > held.size()) {
      throw new IllegalArgumentException("reporting " + reporting + " of " + held.size() + " held leases");
    }
    return Math.max(0, Math.min(JobQueue.LEASE_BATCH_MAX, sizer.slots() - held.size() + reporting));
  }

  public int holding() {
    return held.size();
  }

  public Optional<Held> held(TaskId task) {
    return Optional.ofNullable(held.get(task));
  }

  /** A lease granted for a request sent at {@code sentAtMillis}. */
  public void onLeased(Lease lease, Duration duration, long sentAtMillis) {
    if (!lease.pool().equals(pool)) {
      throw new IllegalArgumentException("lease of task " + lease.task() + " is for pool " + lease.pool() + ", not " + pool);
    }
    held.put(lease.task(), schedule(lease, duration, sentAtMillis));
  }

  /** The leases due for a heartbeat at {@code nowMillis}; each is marked as being renewed. */
  public List<Lease> renewalsDue(long nowMillis) {
    List<Lease> out = new ArrayList<>();
    for (Map.Entry<TaskId, Held> e : held.entrySet()) {
      Held h = e.getValue();
      if (!h.renewing() && h.renewAtMillis() <= nowMillis) {
        e.setValue(new Held(h.lease(), h.duration(), h.deadlineMillis(), h.renewAtMillis(), true));
        out.add(h.lease());
      }
    }
    return out;
  }

  /** A renewal sent at {@code sentAtMillis} succeeded. */
  public void onRenewed(Lease lease, long sentAtMillis) {
    Held h = held.get(lease.task());
    if (h != null && h.lease().epoch() == lease.epoch()) {
      held.put(lease.task(), schedule(lease, h.duration(), sentAtMillis));
    }
  }

  /** A renewal failed to get through (timeout): try again at once. */
  public void onRenewUnanswered(TaskId task) {
    Held h = held.get(task);
    if (h != null) {
      held.put(task, new Held(h.lease(), h.duration(), h.deadlineMillis(), h.renewAtMillis(), false));
    }
  }

  /**
   * The leases whose deadline has passed without a renewal: the worker must stop these tasks now
   * and not report them; they are dropped and count as failures for sizing.
   */
  public List<Lease> expiredLocally(long nowMillis) {
    List<Lease> out = new ArrayList<>();
    for (Iterator<Held> it = held.values().iterator(); it.hasNext(); ) {
      Held h = it.next();
      if (h.deadlineMillis() <= nowMillis) {
        it.remove();
        sizer.onOutcome(false);
        out.add(h.lease());
      }
    }
    return out;
  }

  /** The queue said the lease is gone (cancelled, expired): stop the task. */
  public void onLost(TaskId task) {
    held.remove(task);
  }

  /** The task's attempt ended and its outcome was sent. */
  public void onFinished(TaskId task, boolean succeeded) {
    if (held.remove(task) != null) {
      sizer.onOutcome(succeeded);
    }
  }

  /** The earliest moment something is due (a renewal or a local deadline). */
  public Optional<Long> nextDueMillis() {
    return held.values().stream().map(h -> h.renewing() ? h.deadlineMillis() : Math.min(h.renewAtMillis(), h.deadlineMillis())).min(Long::compare);
  }

  private static Held schedule(Lease lease, Duration duration, long sentAtMillis) {
    long d = duration.toMillis();
    return new Held(lease, duration, sentAtMillis + d, sentAtMillis + d / 3, false);
  }
}
