package io.ferry.simulator.jobs;

import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import io.ferry.simulator.check.RetryCountCheck;
import io.ferry.simulator.check.TaskEndCheck;
import io.ferry.simulator.check.TaskHolderCheck;
import io.ferry.simulator.check.TaskLossCheck;
import io.ferry.simulator.protocol.Scheduler;
import io.ferry.simulator.protocol.SimRandom;
import io.ferry.simulator.report.RunReport;
import io.ferry.tasks.JobId;
import io.ferry.tasks.JobQueue;
import io.ferry.tasks.JobSpec;
import io.ferry.tasks.Lease;
import io.ferry.tasks.Outcome;
import io.ferry.tasks.PoolId;
import io.ferry.tasks.PoolScheduler;
import io.ferry.tasks.PoolSizer;
import io.ferry.tasks.PoolSpec;
import io.ferry.tasks.TaskId;
import io.ferry.tasks.TaskKinds;
import io.ferry.tasks.TaskSpec;
import io.ferry.tasks.TaskView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The deterministic {@code jobs} scenario: three sites, each with a pool of workers and a queue
 * host; the real {@link JobQueue} replicated on every host (the primary applies an operation,
 * appends it to its log, sends it to the backups and answers only once {@code replicas} hosts hold
 * it), the real {@link PoolScheduler} and {@link PoolSizer} on every worker. Faults from the seed:
 * worker crashes, pool loss (a whole site's workers), site partitions (the isolated side is
 * downed, as Pekko's split-brain resolver does), queue-host crashes (one at a time: {@code
 * replicas} - 1 losses are what a replica count protects against) and lossy links that let leases
 * expire. Faults stop at a heal time; the run ends when every acknowledged task has ended.
 */
public final class JobsSimulation {
  public static final String SCENARIO = "jobs";
  public static final String TIER = "deterministic";
  private static final long MS = 1000;
  private static final List<String> SITES = List.of("edge-a", "edge-b", "cloud");
  private static final long TICK_MS = 40;
  private static final long DETECT_MS = 600;
  private static final long REQUEST_TIMEOUT_MS = 1500;

  /**
   * @param replicas hosts that hold an operation before the primary answers (1 = no replication, test-only)
   * @param fencing false lets a worker run on past its lease (test-only), to show the holder check catches it
   * @param healAtMillis when faults stop
   * @param horizonMillis when the run gives up waiting for every task to end
   */
  public record Options(int replicas, boolean fencing, int jobsMin, int jobsMax, int tasksMin, int tasksMax, long healAtMillis, long horizonMillis) {
    public Options {
      if (replicas < 1 || replicas > SITES.size()) {
        throw new IllegalArgumentException("replicas must be 1 to " + SITES.size() + ", got " + replicas);
      }
      if (jobsMin < 1 || jobsMax < jobsMin || tasksMin < 1 || tasksMax < tasksMin) {
        throw new IllegalArgumentException("jobs and tasks must satisfy 1 <= min <= max");
      }
    }

    public static Options defaults() {
      return new Options(2, true, 2, 4, 5, 25, 20_000, 600_000);
    }

    public Options withReplicas(int r) {
      return new Options(r, fencing, jobsMin, jobsMax, tasksMin, tasksMax, healAtMillis, horizonMillis);
    }

    public Options withFencing(boolean on) {
      return new Options(replicas, on, jobsMin, jobsMax, tasksMin, tasksMax, healAtMillis, horizonMillis);
    }
  }

  /** One replicated operation, stamped with the primary's time so every replica replays it alike. */
  private sealed interface Op {
    long atMillis();
  }

  private record Submit(JobSpec job, long atMillis) implements Op {}

  private record LeaseOp(PoolId pool, String holder, int max, long atMillis) implements Op {}

  private record Renew(TaskId task, long epoch, long atMillis) implements Op {}

  private record Complete(TaskId task, long epoch, Outcome outcome, long atMillis) implements Op {}

  private record Cancel(JobId job, long atMillis) implements Op {}

  private record PoolDown(PoolId pool, long atMillis) implements Op {}

  private record PoolUp(PoolId pool, long atMillis) implements Op {}

  private final class Host {
    final int index;
    final String site;
    boolean alive = true;
    List<Op> log = new ArrayList<>();
    JobQueue queue = newQueue();
    /** The primary's view: how much of its log each host holds. */
    final Map<Integer, Integer> held = new HashMap<>();
    final Map<Integer, Consumer<Object>> pending = new TreeMap<>();
    final Map<Integer, Object> results = new HashMap<>();

    Host(int index, String site) {
      this.index = index;
      this.site = site;
    }

    String name() {
      return "queue@" + site;
    }
  }

  private final class Worker {
    final PoolId pool;
    final String site;
    final String name;
    int incarnation = 1;
    boolean alive = true;
    PoolScheduler scheduler;
    boolean leaseInFlight;
    long leaseSentAt;
    final Map<TaskId, Long> runningSince = new TreeMap<>();
    final Map<TaskId, Long> runningEpoch = new TreeMap<>();

    Worker(PoolId pool, String site, String name) {
      this.pool = pool;
      this.site = site;
      this.name = name;
      this.scheduler = newScheduler(pool);
    }

    String holder() {
      return pool + "/" + name + "#" + incarnation;
    }
  }

  private final long seed;
  private final Options options;
  private final SimRandom random;
  private final Scheduler scheduler = new Scheduler();
  private final List<PoolSpec> pools = new ArrayList<>();
  private final List<Host> hosts = new ArrayList<>();
  private final List<Worker> workers = new ArrayList<>();
  private final Map<String, Boolean> isolated = new HashMap<>();
  private final Map<String, Long> linkLast = new HashMap<>();
  private final Map<TaskId, TaskSpec> specs = new TreeMap<>();
  private final Map<TaskId, Double> failChance = new HashMap<>();
  private final Set<JobId> acknowledged = new TreeSet<>();
  private final List<JobSpec> jobs = new ArrayList<>();
  private final List<TaskHolderCheck.Run> runs = new ArrayList<>();
  private final List<RetryCountCheck.Attempt> attempts = new ArrayList<>();
  private final List<RunReport.Event> faults = new ArrayList<>();
  private final List<RunReport.Event> operations = new ArrayList<>();
  private final Map<String, Double> probabilities = new LinkedHashMap<>();
  private final Map<PoolId, Integer> poolReports = new HashMap<>();
  private int primary;
  private int term = 1;
  private boolean hostFaultActive;
  private double pDrop;
  private double pFail;
  private boolean finished;

  private JobsSimulation(long seed, Options options) {
    this.seed = seed;
    this.options = options;
    this.random = new SimRandom(seed);
  }

  public static RunReport run(long seed, Options options) {
    return new JobsSimulation(seed, options).run();
  }

  private JobQueue newQueue() {
    return JobQueue.create(TaskKinds.builtIn(), pools);
  }

  private PoolScheduler newScheduler(PoolId pool) {
    return PoolScheduler.create(pool, PoolSizer.create(1, 3, 8, 0.75));
  }

  private long now() {
    return scheduler.nowMicros() / MS;
  }

  private RunReport run() {
    for (String s : SITES) {
      Tier tier = s.startsWith("edge") ? Tier.EDGE : Tier.CLOUD;
      pools.add(new PoolSpec(new PoolId(s), Site.of(s), tier, 1, 3));
    }
    for (int i = 0; i < SITES.size(); i++) {
      hosts.add(new Host(i, SITES.get(i)));
      isolated.put(SITES.get(i), false);
    }
    primary = (int) random.between(0, SITES.size() - 1);
    int perPool = (int) random.between(1, 3);
    for (PoolSpec p : pools) {
      for (int w = 1; w <= perPool; w++) {
        workers.add(new Worker(p.id(), p.site().name(), "w" + w));
      }
    }
    pDrop = random.chance(0.5) ? random.uniform(0.01, 0.08) : 0;
    pFail = random.uniform(0.0, 0.3);
    double workerCrashRate = random.uniform(0.05, 0.4);
    double poolLossRate = random.chance(0.6) ? random.uniform(0.02, 0.1) : 0;
    double partitionRate = random.chance(0.6) ? random.uniform(0.02, 0.1) : 0;
    double hostCrashRate = random.chance(0.7) ? random.uniform(0.03, 0.15) : 0;
    probabilities.put("pDrop", pDrop);
    probabilities.put("pFail", pFail);
    probabilities.put("workerCrashesPerSecond", workerCrashRate);
    probabilities.put("poolLossesPerSecond", poolLossRate);
    probabilities.put("partitionsPerSecond", partitionRate);
    probabilities.put("queueHostCrashesPerSecond", hostCrashRate);
    operations.add(event("start", perPool + " workers per pool, primary " + hosts.get(primary).name() + ", replicas " + options.replicas()));

    int nJobs = (int) random.between(options.jobsMin(), options.jobsMax());
    for (int j = 0; j < nJobs; j++) {
      JobSpec job = makeJob("job" + j);
      jobs.add(job);
      long at = random.between(0, options.healAtMillis() / 2);
      scheduler.after(at * MS, "client", "submit", job.id().value(), () -> submit(job, 0));
    }
    if (random.chance(0.3)) {
      JobSpec victim = jobs.get((int) random.between(0, jobs.size() - 1));
      long at = random.between(1000, options.healAtMillis());
      scheduler.after(at * MS, "client", "cancel", victim.id().value(), () -> cancel(victim.id(), 0));
    }
    for (Worker w : workers) {
      scheduler.after(random.between(1, TICK_MS) * MS, w.holder(), "tick", "", () -> tick(w, w.incarnation));
    }
    scheduleFault("worker-crash", workerCrashRate, this::crashWorker);
    scheduleFault("pool-loss", poolLossRate, this::losePool);
    scheduleFault("partition", partitionRate, this::partition);
    scheduleFault("queue-host-crash", hostCrashRate, this::crashHost);
    Optional<String> failure = Optional.empty();
    try {
      scheduler.after(options.healAtMillis() * MS, "sim", "heal", "", this::checkEnd);
      while (scheduler.nowMicros() <= options.horizonMillis() * MS && !finished && scheduler.step()) {
        // every event is hashed and run by the scheduler
      }
    } catch (RuntimeException e) {
      failure = Optional.of(e + " at " + now() + " ms; last events:\n  " + String.join("\n  ", scheduler.recent()));
    }
    return report(failure);
  }

  private JobSpec makeJob(String id) {
    int n = (int) random.between(options.tasksMin(), options.tasksMax());
    List<TaskSpec> tasks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      TaskSpec t = TaskSpec.of("t" + i, "command", Map.of("command", "true"), (int) random.between(1, 3),
          Duration.ofMillis(random.between(800, 3000)));
      double c = random.uniform(0, 1);
      if (c < 0.15) {
        t = t.withTier(Tier.EDGE);
      } else if (c < 0.25) {
        t = t.withSite(Site.of(random.pick(SITES)));
      }
      TaskId tid = new TaskId(new JobId(id), t.name());
      specs.put(tid, t);
      // A few tasks fail on every attempt, so budgets run out and failures carry reasons.
      failChance.put(tid, random.chance(0.05) ? 1.0 : pFail);
      tasks.add(t);
    }
    return new JobSpec(new JobId(id), tasks);
  }

  /** After the heal, looks every half second whether every acknowledged task has ended. */
  private void checkEnd() {
    finished = allEnded();
    if (!finished) {
      scheduler.after(500 * MS, "sim", "check-end", "", this::checkEnd);
    }
  }

  private boolean allEnded() {
    Host p = hosts.get(primary);
    if (!p.alive) {
      return false;
    }
    for (JobId j : acknowledged) {
      if (p.queue.job(j, now()).map(v -> v.state() == io.ferry.tasks.JobView.JobState.RUNNING).orElse(true)) {
        return false;
      }
    }
    return acknowledged.size() == jobs.size();
  }

  // ---- network ------------------------------------------------------------------------------

  /** Delivers in order per link unless dropped, or cut by a partition at send or delivery time. */
  private void send(String fromSite, String from, String toSite, String to, boolean lossy, String kind, Runnable action) {
    if (cut(fromSite, toSite) || (lossy && random.chance(pDrop))) {
      return;
    }
    long delay = fromSite.equals(toSite) ? random.between(1, 4) : random.between(15, 70);
    String link = from + "->" + to;
    long at = Math.max(now() + delay, linkLast.getOrDefault(link, 0L));
    linkLast.put(link, at);
    scheduler.after((at - now()) * MS, to, kind, from, () -> {
      if (!cut(fromSite, toSite)) {
        action.run();
      }
    });
  }

  private boolean cut(String a, String b) {
    return !a.equals(b) && (isolated.get(a) || isolated.get(b));
  }

  // ---- the replicated queue -----------------------------------------------------------------

  /** Sends {@code op} from a client or worker at {@code site} to the primary; {@code reply} runs once r hosts hold it. */
  private void request(String site, String from, java.util.function.LongFunction<Op> op, Consumer<Object> reply) {
    Host p = hosts.get(primary);
    int t = term;
    send(site, from, p.site, p.name(), true, "request", () -> {
      if (!p.alive || primary != p.index || term != t) {
        return;
      }
      Op o = op.apply(now());
      Object result = apply(p.queue, o);
      p.log.add(o);
      int index = p.log.size() - 1;
      p.pending.put(index, r -> send(p.site, p.name(), site, from, true, "reply", () -> reply.accept(r)));
      p.results.put(index, result);
      p.held.put(p.index, p.log.size());
      for (Host b : hosts) {
        // With a replica count of 1 (test-only) the queue keeps one copy and replicates nothing.
        if (b != p && options.replicas() > 1) {
          replicate(p, b, index, o, t);
        }
      }
      commit(p);
    });
  }

  private void replicate(Host p, Host b, int index, Op o, int t) {
    send(p.site, p.name(), b.site, b.name(), false, "append", () -> {
      if (!b.alive || term != t) {
        return;
      }
      if (index == b.log.size()) {
        b.log.add(o);
        apply(b.queue, o);
      } else if (index > b.log.size()) {
        // A gap (this host missed appends behind a partition): copy the primary's log.
        copyLog(p, b);
      }
      int size = b.log.size();
      send(b.site, b.name(), p.site, p.name(), false, "ack", () -> {
        if (p.alive && primary == p.index && term == t) {
          p.held.merge(b.index, size, Math::max);
          commit(p);
        }
      });
    });
  }

  private void copyLog(Host from, Host to) {
    to.log = new ArrayList<>(from.log);
    to.queue = newQueue();
    to.log.forEach(o -> apply(to.queue, o));
  }

  /** Answers every pending operation that {@code replicas} hosts hold. */
  private void commit(Host p) {
    for (var it = p.pending.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      int i = e.getKey();
      long holders = p.held.entrySet().stream().filter(h -> h.getValue() > i && (h.getKey() == p.index || hosts.get(h.getKey()).alive)).count();
      if (holders < options.replicas()) {
        break;
      }
      it.remove();
      e.getValue().accept(p.results.remove(i));
    }
  }

  private Object apply(JobQueue q, Op o) {
    if (o instanceof Submit s) {
      try {
        return q.submit(s.job(), s.atMillis());
      } catch (IllegalArgumentException e) {
        return e.getMessage();
      }
    } else if (o instanceof LeaseOp l) {
      return q.lease(l.pool(), l.holder(), l.max(), l.atMillis());
    } else if (o instanceof Renew r) {
      return q.renew(r.task(), r.epoch(), r.atMillis());
    } else if (o instanceof Complete c) {
      return q.complete(c.task(), c.epoch(), c.outcome(), c.atMillis());
    } else if (o instanceof Cancel c) {
      try {
        return q.cancel(c.job(), c.atMillis());
      } catch (IllegalArgumentException e) {
        return e.getMessage(); // cancelled before its submit reached the queue
      }
    } else if (o instanceof PoolDown d) {
      q.poolDown(d.pool());
      return Boolean.TRUE;
    } else {
      PoolUp u = (PoolUp) o;
      q.poolUp(pools.stream().filter(p -> p.id().equals(u.pool())).findFirst().orElseThrow());
      return Boolean.TRUE;
    }
  }

  /** The membership oracle: after a failure detection delay, the live host with the longest log takes over. */
  private void takeOver(String why) {
    scheduler.after(DETECT_MS * MS, "oracle", "take-over", why, () -> {
      if (hosts.get(primary).alive) {
        return;
      }
      Host next = null;
      for (Host h : hosts) {
        if (h.alive && !isolated.get(h.site) && (next == null || h.log.size() > next.log.size())) {
          next = h;
        }
      }
      if (next == null) {
        takeOver(why);
        return;
      }
      term++;
      primary = next.index;
      next.held.clear();
      next.pending.clear();
      next.results.clear();
      next.held.put(next.index, next.log.size());
      for (Host h : hosts) {
        if (h != next && h.alive) {
          copyLog(next, h);
          next.held.put(h.index, h.log.size());
        }
      }
      operations.add(event("take-over", next.name() + " is primary (term " + term + ", log " + next.log.size() + ") after " + why));
    });
  }

  private void submit(JobSpec job, int tries) {
    if (acknowledged.contains(job.id())) {
      return;
    }
    boolean[] answered = new boolean[1];
    request("cloud", "client", at -> new Submit(job, at), r -> {
      answered[0] = true;
      if (Boolean.TRUE.equals(r) || Boolean.FALSE.equals(r)) {
        if (acknowledged.add(job.id())) {
          operations.add(event("acknowledged", job.id() + ": " + job.tasks().size() + " tasks"));
        }
      } else {
        throw new IllegalStateException("submit of " + job.id() + " refused: " + r);
      }
    });
    scheduler.after(REQUEST_TIMEOUT_MS * MS, "client", "submit-timeout", job.id().value(), () -> {
      if (!answered[0]) {
        submit(job, tries + 1);
      }
    });
  }

  private void cancel(JobId job, int tries) {
    boolean[] answered = new boolean[1];
    request("cloud", "client", at -> new Cancel(job, at), r -> {
      answered[0] = true;
      operations.add(event("cancelled", job + ": " + r + " tasks"));
    });
    scheduler.after(REQUEST_TIMEOUT_MS * MS, "client", "cancel-timeout", job.value(), () -> {
      if (!answered[0] && tries < 20) {
        cancel(job, tries + 1);
      }
    });
  }

  // ---- workers --------------------------------------------------------------------------------

  private void tick(Worker w, int incarnation) {
    if (!w.alive || w.incarnation != incarnation) {
      return;
    }
    long now = now();
    if (options.fencing()) {
      for (Lease l : w.scheduler.expiredLocally(now)) {
        stop(w, l.task(), "self-fenced");
      }
    }
    for (Lease l : w.scheduler.renewalsDue(now)) {
      long sent = now;
      request(w.site, w.holder(), at -> new Renew(l.task(), l.epoch(), at), r -> {
        if (!w.alive || w.incarnation != incarnation) {
          return;
        }
        if (r instanceof JobQueue.RenewResult.Renewed ok) {
          w.scheduler.onRenewed(ok.lease(), sent);
        } else if (w.runningEpoch.getOrDefault(l.task(), -1L) == l.epoch()) {
          w.scheduler.onLost(l.task());
          stop(w, l.task(), "lease lost");
        }
      });
      long third = specs.get(l.task()).leaseDuration().toMillis() / 3;
      scheduler.after(third * MS, w.holder(), "renew-timeout", l.task().toString(), () -> {
        if (w.alive && w.incarnation == incarnation) {
          w.scheduler.held(l.task()).filter(h -> h.lease().epoch() == l.epoch() && h.renewing() && h.renewAtMillis() <= sent)
              .ifPresent(h -> w.scheduler.onRenewUnanswered(l.task()));
        }
      });
    }
    if (w.leaseInFlight && now - w.leaseSentAt > REQUEST_TIMEOUT_MS) {
      w.leaseInFlight = false;
    }
    int wanted = w.scheduler.wanted();
    if (wanted > 0 && !w.leaseInFlight) {
      w.leaseInFlight = true;
      w.leaseSentAt = now;
      long sent = now;
      String holder = w.holder();
      request(w.site, holder, at -> new LeaseOp(w.pool, holder, wanted, at), r -> {
        if (w.leaseSentAt == sent) {
          w.leaseInFlight = false;
        }
        @SuppressWarnings("unchecked")
        List<Lease> leases = (List<Lease>) r;
        for (Lease l : leases) {
          attempts.add(new RetryCountCheck.Attempt(l.task().toString(), l.pool().value(), l.epoch()));
          if (!w.alive || w.incarnation != incarnation) {
            continue; // an orphan lease: it expires at the queue
          }
          start(w, l, sent);
        }
      });
    }
    // Size the pool by the queue it sees (the primary's count, as a lease reply would carry it).
    Host p = hosts.get(primary);
    if (p.alive) {
      w.scheduler.sizer().resize(p.queue.queuedFor(w.pool), w.scheduler.holding());
    }
    scheduler.after(TICK_MS * MS, w.holder(), "tick", "", () -> tick(w, incarnation));
  }

  private void start(Worker w, Lease l, long sentAt) {
    TaskSpec spec = specs.get(l.task());
    w.scheduler.onLeased(l, spec.leaseDuration(), sentAt);
    w.runningSince.put(l.task(), now());
    w.runningEpoch.put(l.task(), l.epoch());
    int incarnation = w.incarnation;
    long runFor = random.between(50, 2500);
    boolean fails = random.chance(failChance.get(l.task()));
    scheduler.after(runFor * MS, w.holder(), "finish", l.task() + " lease " + l.epoch(), () -> {
      if (!w.alive || w.incarnation != incarnation || w.runningEpoch.getOrDefault(l.task(), -1L) != l.epoch()) {
        return;
      }
      stop(w, l.task(), fails ? "failed" : "succeeded");
      w.scheduler.onFinished(l.task(), !fails);
      Outcome o = fails ? new Outcome.Failed("exit 1 on " + w.holder()) : new Outcome.Succeeded("ok");
      request(w.site, w.holder(), at -> new Complete(l.task(), l.epoch(), o, at), r -> {});
    });
  }

  private void stop(Worker w, TaskId task, String why) {
    Long since = w.runningSince.remove(task);
    Long epoch = w.runningEpoch.remove(task);
    if (since != null) {
      runs.add(new TaskHolderCheck.Run(task.toString(), w.pool.value(), w.holder(), epoch, since, now()));
    }
  }

  private void crash(Worker w) {
    for (TaskId t : new ArrayList<>(w.runningSince.keySet())) {
      stop(w, t, "crashed");
    }
    w.alive = false;
  }

  private void restart(Worker w) {
    w.incarnation++;
    w.alive = true;
    w.scheduler = newScheduler(w.pool);
    w.leaseInFlight = false;
    scheduler.after(random.between(1, TICK_MS) * MS, w.holder(), "tick", "", () -> tick(w, w.incarnation));
  }

  // ---- faults -----------------------------------------------------------------------------------

  private void scheduleFault(String kind, double perSecond, Runnable fault) {
    if (perSecond <= 0) {
      return;
    }
    long wait = random.exponential(1000 / perSecond);
    if (now() + wait >= options.healAtMillis()) {
      return;
    }
    scheduler.after(wait * MS, "faults", kind, "", () -> {
      fault.run();
      scheduleFault(kind, perSecond, fault);
    });
  }

  private void crashWorker() {
    List<Worker> live = workers.stream().filter(w -> w.alive).toList();
    if (live.isEmpty()) {
      return;
    }
    Worker w = random.pick(live);
    faults.add(event("worker-crash", w.holder()));
    crash(w);
    long back = random.between(300, 3000);
    scheduler.after(back * MS, w.name, "restart", w.pool.value(), () -> restart(w));
  }

  private void losePool() {
    PoolSpec p = random.pick(pools);
    List<Worker> ws = workers.stream().filter(w -> w.pool.equals(p.id()) && w.alive).toList();
    if (ws.isEmpty()) {
      return;
    }
    faults.add(event("pool-loss", p.id().value()));
    ws.forEach(this::crash);
    reportPool(p.id(), false);
    long back = random.between(1000, 6000);
    scheduler.after(back * MS, "faults", "pool-back", p.id().value(), () -> {
      ws.forEach(this::restart);
      reportPool(p.id(), true);
    });
  }

  /**
   * The membership change reaches the queue as an operation, after failure detection, sent from
   * the primary's own site and retried until answered or overtaken by a newer change of the pool.
   */
  private void reportPool(PoolId pool, boolean up) {
    int generation = poolReports.merge(pool, 1, Integer::sum);
    scheduler.after(DETECT_MS * MS, "oracle", up ? "pool-up" : "pool-down", pool.value(), () -> sendPoolReport(pool, up, generation));
  }

  private void sendPoolReport(PoolId pool, boolean up, int generation) {
    if (poolReports.get(pool) != generation) {
      return;
    }
    boolean[] done = new boolean[1];
    request(hosts.get(primary).site, "oracle", at -> up ? new PoolUp(pool, at) : new PoolDown(pool, at), r -> done[0] = true);
    scheduler.after(REQUEST_TIMEOUT_MS * MS, "oracle", "pool-report-timeout", pool.value(), () -> {
      if (!done[0]) {
        sendPoolReport(pool, up, generation);
      }
    });
  }

  private void partition() {
    if (isolated.values().stream().anyMatch(b -> b) || hostFaultActive) {
      return;
    }
    String site = random.pick(SITES);
    Host h = hosts.stream().filter(x -> x.site.equals(site)).findFirst().orElseThrow();
    if (!h.alive) {
      return;
    }
    hostFaultActive = true;
    isolated.put(site, true);
    long heal = random.between(1000, 5000);
    faults.add(event("partition", site + " cut off for " + heal + " ms"));
    PoolId pool = new PoolId(site);
    reportPool(pool, false);
    // The split-brain resolver downs the isolated side's queue host (it holds no majority).
    h.alive = false;
    if (primary == h.index) {
      takeOver("partition of " + site);
    }
    scheduler.after(heal * MS, "faults", "heal", site, () -> {
      isolated.put(site, false);
      reportPool(pool, true);
      rejoin(h);
    });
  }

  private void crashHost() {
    if (hostFaultActive) {
      return;
    }
    Host h = random.pick(hosts);
    if (!h.alive) {
      return;
    }
    hostFaultActive = true;
    faults.add(event("queue-host-crash", h.name() + (primary == h.index ? " (primary)" : "")));
    h.alive = false;
    if (primary == h.index) {
      takeOver("crash of " + h.name());
    }
    long back = random.between(1000, 4000);
    scheduler.after(back * MS, "faults", "host-back", h.name(), () -> rejoin(h));
  }

  /** A host that comes back is a backup: it copies the primary's log, then the fault is over. */
  private void rejoin(Host h) {
    Host p = hosts.get(primary);
    if (!p.alive) {
      scheduler.after(DETECT_MS * MS, "faults", "rejoin-wait", h.name(), () -> rejoin(h));
      return;
    }
    h.alive = true;
    copyLog(p, h);
    p.held.put(h.index, h.log.size());
    hostFaultActive = false;
    operations.add(event("rejoin", h.name() + " copied " + h.log.size() + " operations"));
  }

  private RunReport.Event event(String kind, String detail) {
    return new RunReport.Event(now(), kind, detail);
  }

  // ---- report -----------------------------------------------------------------------------------

  private RunReport report(Optional<String> failure) {
    for (Worker w : workers) {
      for (var e : new ArrayList<>(w.runningSince.entrySet())) {
        runs.add(new TaskHolderCheck.Run(e.getKey().toString(), w.pool.value(), w.holder(), w.runningEpoch.get(e.getKey()), e.getValue(), Long.MAX_VALUE));
      }
    }
    Host p = hosts.get(primary);
    Set<String> ackedTasks = new TreeSet<>();
    for (JobSpec j : jobs) {
      if (acknowledged.contains(j.id())) {
        j.tasks().forEach(t -> ackedTasks.add(new TaskId(j.id(), t.name()).toString()));
      }
    }
    Set<String> known = new HashSet<>();
    Map<String, TaskEndCheck.End> ends = new TreeMap<>();
    for (var jv : p.queue.jobs(now())) {
      for (TaskView t : jv.tasks()) {
        known.add(t.id().toString());
        ends.put(t.id().toString(), new TaskEndCheck.End(t.state().name(), t.reason()));
      }
    }
    Map<String, TaskEndCheck.End> ackedEnds = new TreeMap<>();
    for (String t : ackedTasks) {
      ackedEnds.put(t, ends.getOrDefault(t, new TaskEndCheck.End("UNKNOWN", Optional.empty())));
    }
    Map<String, Integer> retryCount = new TreeMap<>();
    specs.forEach((id, s) -> retryCount.put(id.toString(), s.retryCount()));
    List<RunReport.Verdict> verdicts = new ArrayList<>();
    verdicts.add(TaskLossCheck.check(ackedTasks, known));
    verdicts.add(TaskHolderCheck.check(runs));
    verdicts.add(RetryCountCheck.check(attempts, retryCount));
    verdicts.add(TaskEndCheck.check(ackedEnds));
    if (acknowledged.size() < jobs.size()) {
      verdicts.add(new RunReport.Verdict("every-submit-acknowledged", false, acknowledged.size() + " of " + jobs.size() + " jobs acknowledged by " + now() + " ms"));
    }
    failure.ifPresent(f -> verdicts.add(new RunReport.Verdict("no-exception", false, f)));
    JobQueue.Stats st = p.queue.stats();
    operations.add(event("end", "leases " + st.leasesGranted() + ", renewals " + st.renewals() + ", expiries " + st.expiries()
        + ", retries " + st.retries() + ", reassignments " + st.reassignments() + ", term " + term));
    return new RunReport(SCENARIO, TIER, seed, "ferry simulate --tier deterministic --workload jobs --seed " + seed, now(), probabilities,
        faults, operations, List.of(), 0, List.of(), Map.of(), List.of(), verdicts, scheduler.traceHash());
  }
}
