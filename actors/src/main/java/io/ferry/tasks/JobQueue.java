package io.ferry.tasks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The job queue's state machine: jobs of tasks, leases held by pools, retries per pool and the
 * reassignment of a task to another pool once its pool has spent the task's retry count, all
 * under one attempt budget per task. Pure and deterministic: every call takes the time, so the
 * queue actor, its replicas and the simulator replay the same calls into the same state.
 *
 * <p>Rules: a task has at most one lease; an attempt is counted when it is leased (so a worker
 * that dies costs its pool an attempt); after a failed attempt the task stays with its pool while
 * that pool has attempts left (and takes it back within a lease duration), then is released to any
 * other pool that satisfies its constraints;
 * an expired lease returns the task to the queue for any pool; a task that no pool may try any
 * more fails with the reason of its last attempt.
 */
public final class JobQueue {
  /** Tasks not yet ended, across jobs; a submit beyond it is refused. */
  public static final int LIVE_TASKS_MAX = 1_000_000;
  /** Tasks one lease call hands out. */
  public static final int LEASE_BATCH_MAX = 1000;
  /** Pools a queue knows. */
  public static final int POOLS_MAX = 1000;

  private static final class Task {
    final TaskId id;
    final TaskSpec spec;
    final int budget;
    final Map<PoolId, Integer> attempts = new TreeMap<>();
    TaskState state = TaskState.QUEUED;
    PoolId affinity;
    /** When the affinity lapses: a pool that does not take its retry back within a lease duration may be gone. */
    long affinityUntil;
    PoolId lastPool;
    Lease lease;
    long epoch;
    String reason;
    String output;

    Task(TaskId id, TaskSpec spec, int budget) {
      this.id = id;
      this.spec = spec;
      this.budget = budget;
    }

    int total() {
      return attempts.values().stream().mapToInt(Integer::intValue).sum();
    }

    int attemptsOn(PoolId p) {
      return attempts.getOrDefault(p, 0);
    }
  }

  private record Job(JobSpec spec, long submittedAtMillis, List<Task> tasks, boolean[] cancelled) {}

  /** What a renewal found. */
  public sealed interface RenewResult {
    record Renewed(Lease lease) implements RenewResult {}

    /** The lease is gone; the worker must stop the task. */
    record Lost(String reason) implements RenewResult {}
  }

  /** What a reported outcome did. */
  public sealed interface CompleteResult {
    /** @param state the task's state after the outcome (QUEUED again after a failure with retries left) */
    record Accepted(TaskState state) implements CompleteResult {}

    record Refused(String reason) implements CompleteResult {}
  }

  /** Counters for reports and benchmarks. */
  public record Stats(long leasesGranted, long renewals, long completions, long expiries, long retries, long reassignments) {}

  /**
   * How many volume-migration tasks may hold leases at once per site (as source or target) and
   * per link (source -> target), so a mass migration runs in waves.
   */
  public record Limits(int volumesPerSiteMax, int volumesPerLinkMax) {
    public Limits {
      if (volumesPerSiteMax < 1 || volumesPerLinkMax < 1) {
        throw new IllegalArgumentException("volume concurrency limits must be at least 1, got site " + volumesPerSiteMax + " link " + volumesPerLinkMax);
      }
    }

    public static Limits none() {
      return new Limits(Integer.MAX_VALUE, Integer.MAX_VALUE);
    }
  }

  private final TaskKinds kinds;
  private final Limits limits;
  private final Map<PoolId, PoolSpec> pools = new TreeMap<>();
  private final Map<PoolId, Boolean> live = new TreeMap<>();
  private final Map<JobId, Job> jobs = new TreeMap<>();
  private final Map<TaskId, Task> tasks = new TreeMap<>();
  private final LinkedHashSet<TaskId> queued = new LinkedHashSet<>();
  private final Map<TaskId, Task> leased = new TreeMap<>();
  private long liveTasks;
  private long leasesGranted;
  private long renewals;
  private long completions;
  private long expiries;
  private long retries;
  private long reassignments;

  private JobQueue(TaskKinds kinds, Limits limits) {
    this.kinds = kinds;
    this.limits = limits;
  }

  public static JobQueue create(TaskKinds kinds, Collection<PoolSpec> pools) {
    return create(kinds, pools, Limits.none());
  }

  public static JobQueue create(TaskKinds kinds, Collection<PoolSpec> pools, Limits limits) {
    JobQueue q = new JobQueue(kinds, limits);
    pools.forEach(q::poolUp);
    return q;
  }

  /** Registers a pool or marks it live again. */
  public void poolUp(PoolSpec pool) {
    if (!pools.containsKey(pool.id()) && pools.size() >= POOLS_MAX) {
      throw new IllegalStateException("at most " + POOLS_MAX + " pools, cannot add " + pool.id());
    }
    pools.put(pool.id(), pool);
    live.put(pool.id(), true);
  }

  /**
   * Marks a pool lost: it leases nothing more, and the tasks kept for its retries go back to every
   * pool. Its leases stay until they expire: its workers may still run behind a partition.
   */
  public void poolDown(PoolId pool) {
    if (!pools.containsKey(pool)) {
      throw new IllegalArgumentException("unknown pool " + pool);
    }
    live.put(pool, false);
    for (TaskId id : queued) {
      Task t = tasks.get(id);
      if (pool.equals(t.affinity)) {
        t.affinity = null;
      }
    }
  }

  public List<PoolSpec> pools() {
    return List.copyOf(pools.values());
  }

  public boolean isLive(PoolId pool) {
    return live.getOrDefault(pool, false);
  }

  /**
   * Accepts a job, or refuses it with a clear error: an unknown kind, bad parameters, a task no
   * pool can satisfy, or the same id with different tasks. Submitting the same job again is a
   * no-op that returns false, so a client may retry a submit whose answer it lost.
   */
  public boolean submit(JobSpec spec, long nowMillis) {
    Job existing = jobs.get(spec.id());
    if (existing != null) {
      if (!existing.spec().equals(spec)) {
        throw new IllegalArgumentException("job " + spec.id() + " exists with other tasks; choose another job id");
      }
      return false;
    }
    List<Integer> budgets = new ArrayList<>();
    for (TaskSpec t : spec.tasks()) {
      kinds.validate(t);
      long able = pools.values().stream().filter(t::satisfiedBy).count();
      if (able == 0) {
        throw new IllegalArgumentException("task " + t.name() + ": no pool satisfies " + t.constraints() + " (pools: "
            + pools.values().stream().map(p -> p.id() + " at " + p.site() + "/" + p.tier()).toList() + ")");
      }
      budgets.add(t.attemptBudget() > 0 ? t.attemptBudget() : (int) Math.min(TaskSpec.ATTEMPT_BUDGET_MAX, t.retryCount() * able));
    }
    if (liveTasks + spec.tasks().size() > LIVE_TASKS_MAX) {
      throw new IllegalStateException("the queue holds " + liveTasks + " unfinished tasks; " + spec.tasks().size() + " more would pass " + LIVE_TASKS_MAX);
    }
    List<Task> list = new ArrayList<>();
    for (int i = 0; i < spec.tasks().size(); i++) {
      TaskSpec ts = spec.tasks().get(i);
      Task t = new Task(new TaskId(spec.id(), ts.name()), ts, budgets.get(i));
      list.add(t);
      tasks.put(t.id, t);
      queued.add(t.id);
    }
    liveTasks += list.size();
    jobs.put(spec.id(), new Job(spec, nowMillis, list, new boolean[1]));
    return true;
  }

  /**
   * Leases up to {@code max} queued tasks to {@code holder} in {@code pool}, oldest first: those
   * the pool satisfies, has attempts left for, and that are not kept for another pool's retries.
   */
  public List<Lease> lease(PoolId pool, String holder, int max, long nowMillis) {
    if (!pools.containsKey(pool)) {
      throw new IllegalArgumentException("unknown pool " + pool);
    }
    if (max < 0 || max > LEASE_BATCH_MAX) {
      throw new IllegalArgumentException("a lease call takes 0 to " + LEASE_BATCH_MAX + " tasks, got " + max);
    }
    expire(nowMillis);
    List<Lease> out = new ArrayList<>();
    if (!isLive(pool) || max == 0) {
      return out;
    }
    PoolSpec ps = pools.get(pool);
    Map<String, Integer> inUse = new TreeMap<>();
    leased.values().forEach(t -> volumeKeys(t.spec).forEach(k -> inUse.merge(k, 1, Integer::sum)));
    for (Iterator<TaskId> it = queued.iterator(); it.hasNext() && out.size() < max; ) {
      Task t = tasks.get(it.next());
      if ((t.affinity != null && !t.affinity.equals(pool) && nowMillis < t.affinityUntil) || !t.spec.satisfiedBy(ps)
          || t.attemptsOn(pool) >= t.spec.retryCount() || t.total() >= t.budget) {
        continue;
      }
      List<String> keys = volumeKeys(t.spec);
      if (keys.stream().anyMatch(k -> inUse.getOrDefault(k, 0) >= (k.startsWith("link:") ? limits.volumesPerLinkMax() : limits.volumesPerSiteMax()))) {
        continue; // waits for the next wave
      }
      keys.forEach(k -> inUse.merge(k, 1, Integer::sum));
      it.remove();
      if (t.total() > 0) {
        retries++;
      }
      t.attempts.merge(pool, 1, Integer::sum);
      t.state = TaskState.LEASED;
      t.affinity = null;
      t.lastPool = pool;
      t.lease = new Lease(t.id, pool, holder, ++t.epoch, nowMillis + t.spec.leaseDuration().toMillis());
      leased.put(t.id, t);
      leasesGranted++;
      out.add(t.lease);
    }
    return out;
  }

  /** Extends a lease by its duration from now (the worker's heartbeat), or says why it is gone. */
  public RenewResult renew(TaskId task, long epoch, long nowMillis) {
    expire(nowMillis);
    Task t = tasks.get(task);
    String lost = lostReason(t, task, epoch);
    if (lost != null) {
      return new RenewResult.Lost(lost);
    }
    renewals++;
    t.lease = new Lease(t.id, t.lease.pool(), t.lease.holder(), epoch, nowMillis + t.spec.leaseDuration().toMillis());
    return new RenewResult.Renewed(t.lease);
  }

  /** Records an attempt's outcome under the lease it ran on; an outcome under a lost lease is refused. */
  public CompleteResult complete(TaskId task, long epoch, Outcome outcome, long nowMillis) {
    expire(nowMillis);
    Task t = tasks.get(task);
    String lost = lostReason(t, task, epoch);
    if (lost != null) {
      return new CompleteResult.Refused(lost);
    }
    completions++;
    PoolId pool = t.lease.pool();
    leased.remove(t.id);
    t.lease = null;
    if (outcome instanceof Outcome.Succeeded s) {
      t.output = s.output();
      t.reason = null;
      end(t, TaskState.SUCCEEDED);
    } else {
      t.reason = ((Outcome.Failed) outcome).reason();
      if (t.attemptsOn(pool) < t.spec.retryCount() && t.total() < t.budget) {
        t.affinity = pool;
        t.affinityUntil = nowMillis + t.spec.leaseDuration().toMillis();
        t.state = TaskState.QUEUED;
        queued.add(t.id);
      } else {
        requeueOrFail(t);
      }
    }
    return new CompleteResult.Accepted(t.state);
  }

  /** Returns every task whose lease has run out to the queue (or fails it when no pool may try it again). */
  public List<TaskId> expire(long nowMillis) {
    List<TaskId> out = new ArrayList<>();
    for (Iterator<Task> it = leased.values().iterator(); it.hasNext(); ) {
      Task t = it.next();
      if (t.lease.expiresAtMillis() <= nowMillis) {
        it.remove();
        t.reason = "lease expired: holder " + t.lease.holder() + " of pool " + t.lease.pool() + " stopped renewing";
        t.lease = null;
        expiries++;
        out.add(t.id);
        requeueOrFail(t);
      }
    }
    return out;
  }

  /**
   * A new primary took over: every lease runs for its full duration from now. The queue could not
   * be reached while it moved, so a worker could neither renew nor report; its own deadline is no
   * later than its last acknowledged renewal plus the duration, so no other pool gets the task
   * while it may still run, and an attempt that ended meanwhile can still report its outcome.
   */
  public void takeOver(long nowMillis) {
    for (Task t : leased.values()) {
      long until = nowMillis + t.spec.leaseDuration().toMillis();
      if (t.lease.expiresAtMillis() < until) {
        t.lease = new Lease(t.id, t.lease.pool(), t.lease.holder(), t.lease.epoch(), until);
      }
    }
  }

  /** Cancels a job's unfinished tasks; their leases are revoked, so their workers' next renewal stops them. */
  public int cancel(JobId job, long nowMillis) {
    Job j = jobs.get(job);
    if (j == null) {
      throw new IllegalArgumentException("unknown job " + job);
    }
    j.cancelled()[0] = true;
    int n = 0;
    for (Task t : j.tasks()) {
      if (!t.state.terminal()) {
        queued.remove(t.id);
        leased.remove(t.id);
        t.lease = null;
        t.reason = "cancelled by user";
        end(t, TaskState.CANCELLED);
        n++;
      }
    }
    return n;
  }

  /** When the next lease runs out, if any is held. */
  public Optional<Long> nextExpiryMillis() {
    return leased.values().stream().map(t -> t.lease.expiresAtMillis()).min(Long::compare);
  }

  /** The leases held now. */
  public List<Lease> leases() {
    return leased.values().stream().map(t -> t.lease).toList();
  }

  /** Queued tasks {@code pool} could lease now: its queue length, which its scheduler sizes it by. */
  public int queuedFor(PoolId pool) {
    PoolSpec ps = pools.get(pool);
    if (ps == null) {
      return 0;
    }
    int n = 0;
    for (TaskId id : queued) {
      Task t = tasks.get(id);
      if ((t.affinity == null || t.affinity.equals(pool)) && t.spec.satisfiedBy(ps) && t.attemptsOn(pool) < t.spec.retryCount() && t.total() < t.budget) {
        n++;
      }
    }
    return n;
  }

  public int queuedTotal() {
    return queued.size();
  }

  public Stats stats() {
    return new Stats(leasesGranted, renewals, completions, expiries, retries, reassignments);
  }

  public Optional<TaskSpec> taskSpec(TaskId id) {
    return Optional.ofNullable(tasks.get(id)).map(t -> t.spec);
  }

  public Optional<TaskView> task(TaskId id) {
    return Optional.ofNullable(tasks.get(id)).map(JobQueue::view);
  }

  public Optional<JobView> job(JobId id, long nowMillis) {
    return Optional.ofNullable(jobs.get(id)).map(j -> view(j, nowMillis));
  }

  /** Every job, in id order. */
  public List<JobView> jobs(long nowMillis) {
    return jobs.values().stream().map(j -> view(j, nowMillis)).toList();
  }

  /** The sites and the link a volume-migration task loads; none for other kinds. */
  private static List<String> volumeKeys(TaskSpec spec) {
    if (!spec.kind().equals(VolumeMigrationParameters.NAME)) {
      return List.of();
    }
    String from = spec.parameters().getOrDefault("sourceSite", "");
    String to = spec.parameters().getOrDefault("targetSite", "");
    return List.of("site:" + from, "site:" + to, "link:" + from + "->" + to);
  }

  private String lostReason(Task t, TaskId id, long epoch) {
    if (t == null) {
      return "unknown task " + id;
    }
    if (t.state == TaskState.CANCELLED) {
      return "task " + id + " was cancelled";
    }
    if (t.state.terminal()) {
      return "task " + id + " has ended " + t.state;
    }
    if (t.lease == null || t.lease.epoch() != epoch) {
      return "lease " + epoch + " of task " + id + " is gone" + (t.lease == null ? " (expired)" : " (superseded by lease " + t.lease.epoch() + ")");
    }
    return null;
  }

  /** After a pool is done with a task (spent its retries, or its lease expired): queue it for any pool that may still try it, else fail it. */
  private void requeueOrFail(Task t) {
    t.affinity = null;
    boolean spentHere = t.lastPool != null && t.attemptsOn(t.lastPool) >= t.spec.retryCount();
    boolean another = t.total() < t.budget && pools.values().stream().anyMatch(p -> t.spec.satisfiedBy(p) && t.attemptsOn(p.id()) < t.spec.retryCount());
    if (another) {
      if (spentHere) {
        reassignments++;
      }
      t.state = TaskState.QUEUED;
      queued.add(t.id);
    } else {
      t.reason = "gave up after " + t.total() + " attempts " + t.attempts + " (budget " + t.budget + ", " + t.spec.retryCount() + " per pool); last: " + t.reason;
      end(t, TaskState.FAILED);
    }
  }

  private void end(Task t, TaskState state) {
    t.state = state;
    liveTasks--;
  }

  private static TaskView view(Task t) {
    Optional<String> outcome = switch (t.state) {
      case SUCCEEDED -> Optional.of("succeeded");
      case FAILED -> Optional.of("failed");
      case CANCELLED -> Optional.of("cancelled");
      default -> Optional.empty();
    };
    return new TaskView(t.id, t.spec.kind(), t.state,
        Optional.ofNullable(t.lease != null ? t.lease.pool() : t.lastPool),
        Map.copyOf(t.attempts),
        Optional.ofNullable(t.lease).map(Lease::holder),
        Optional.ofNullable(t.lease).map(Lease::expiresAtMillis),
        outcome, Optional.ofNullable(t.reason), Optional.ofNullable(t.output));
  }

  private static JobView view(Job j, long nowMillis) {
    int done = 0;
    int running = 0;
    int queuedN = 0;
    int failed = 0;
    int cancelled = 0;
    for (Task t : j.tasks()) {
      switch (t.state) {
        case SUCCEEDED -> done++;
        case LEASED -> running++;
        case QUEUED -> queuedN++;
        case FAILED -> failed++;
        case CANCELLED -> cancelled++;
      }
    }
    int ended = done + failed + cancelled;
    int total = j.tasks().size();
    JobView.JobState state;
    if (ended < total) {
      state = JobView.JobState.RUNNING;
    } else if (j.cancelled()[0] && cancelled > 0) {
      state = JobView.JobState.CANCELLED;
    } else if (failed > 0) {
      state = JobView.JobState.FAILED;
    } else {
      state = JobView.JobState.SUCCEEDED;
    }
    Optional<Long> eta = Optional.empty();
    if (state == JobView.JobState.RUNNING && ended > 0) {
      long elapsed = Math.max(0, nowMillis - j.submittedAtMillis());
      eta = Optional.of(elapsed * (total - ended) / ended);
    }
    return new JobView(j.spec().id(), state, done, running, queuedN, failed, cancelled, j.submittedAtMillis(), eta,
        j.tasks().stream().map(JobQueue::view).toList());
  }
}
