package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * The job queue's primary host: a persistent cluster singleton whose journal events are {@link
 * QueueOp}s applied to a {@link JobQueue}. Every operation is persisted, then sent to {@code
 * replicas - 1} {@link QueueReplica}s on other members (other sites first), and answered only
 * when that many have persisted it too: an acknowledged enqueue, lease or result exists in {@code
 * replicas} journals. Pools follow membership: a site with a live worker member is a pool.
 */
public final class JobQueueHost extends EventSourcedBehavior<JobQueueHost.Command, QueueOp, JobQueueHost.State> {

  public static final String SINGLETON_NAME = "ferry-job-queue";
  /** Operations waiting for their replicas; past it new requests are refused (the replicas are down or slow). */
  public static final int PENDING_MAX = 10_000;
  /** How long an operation waits for its replicas before it is dropped unanswered. */
  private static final Duration PENDING_TIMEOUT = Duration.ofSeconds(30);

  public sealed interface Command extends CborSerializable {}

  /** Enqueues a job; {@code replicas} copies must be durable before it is acknowledged. */
  public record SubmitJob(JobSpec job, int replicas, ActorRef<Answer> replyTo) implements Command {}

  public record CancelJob(JobId job, ActorRef<Answer> replyTo) implements Command {}

  /**
   * One worker's traffic of one tick in one message: the outcomes it reports, the leases it renews
   * and how many tasks it wants leased. The queue applies them in that order, in one batch write,
   * and answers them together once the batch's replicas hold it: a worker costs one round trip per
   * tick, however many tasks it runs.
   */
  public record Exchange(long id, PoolId pool, String holder, List<Report> reports, List<Renewal> renewals, int leaseMax, ActorRef<Answer> replyTo)
      implements Command {
    public Exchange {
      reports = List.copyOf(reports);
      renewals = List.copyOf(renewals);
      if (leaseMax < 0 || leaseMax > JobQueue.LEASE_BATCH_MAX || reports.size() > JobQueue.LEASE_BATCH_MAX || renewals.size() > JobQueue.LEASE_BATCH_MAX) {
        throw new IllegalArgumentException("an exchange carries 0 to " + JobQueue.LEASE_BATCH_MAX + " reports, renewals and leases each");
      }
    }
  }

  /** An attempt's outcome under its lease. */
  public record Report(TaskId task, long epoch, Outcome outcome) implements CborSerializable {}

  public record Renewal(TaskId task, long epoch) implements CborSerializable {}

  public record GetJobs(Optional<JobId> job, ActorRef<Jobs> replyTo) implements Command {}

  public record GetStats(ActorRef<StatsReply> replyTo) implements Command {}

  private record Tick() implements Command {}

  private record ReplicasChanged(Receptionist.Listing listing) implements Command {}

  private record Acked(QueueReplica.Ack ack) implements Command {}

  public sealed interface Answer extends CborSerializable {}

  public record Submitted(JobId job, boolean created, int tasks) implements Answer {}

  public record Refused(String reason) implements Answer {}

  /** A lease with the task's spec (its kind, parameters and lease duration) for the worker. */
  public record Grant(Lease lease, TaskSpec spec) implements CborSerializable {}

  /**
   * The answer to an {@link Exchange}: one entry per report and per renewal, in the order sent,
   * and the leases granted.
   *
   * @param id the exchange's id, so that an answer arriving after the worker stopped waiting still
   *     delivers its leases
   * @param queuedForPool tasks the pool could still lease: what its scheduler sizes by
   */
  public record Exchanged(long id, List<Reported> reports, List<Renewed> renewals, List<Grant> grants, int queuedForPool) implements Answer {}

  /** @param accepted whether the outcome counted; {@code detail} is the task's state or why it was refused */
  public record Reported(TaskId task, long epoch, boolean accepted, String detail) implements CborSerializable {}

  /** @param lease the renewed lease, or null when it is lost, then {@code reason} says why */
  public record Renewed(TaskId task, long epoch, Lease lease, String reason) implements CborSerializable {
    public boolean ok() {
      return lease != null;
    }
  }

  public record Cancelled(JobId job, int tasks) implements Answer {}

  public record Jobs(List<JobView> jobs, List<PoolView> pools) implements CborSerializable {}

  public record PoolView(PoolId id, Site site, Tier tier, boolean live, int queued) implements CborSerializable {}

  /** @param operations operations persisted; @param writes journal writes they took (one per batch) */
  public record StatsReply(JobQueue.Stats stats, long operations, long writes) implements CborSerializable {}

  /** The queue and the result of the last operation applied (read by the command that persisted it). */
  public static final class State {
    final JobQueue queue;
    long applied;
    /** The results of a batch being written, in order; not kept while recovering. */
    final List<Object> results = new ArrayList<>();
    boolean collecting;

    State(JobQueue queue) {
      this.queue = queue;
    }
  }

  /** What a queue host needs to know: the kinds it accepts, the pools' slot bounds, the replica count and the tick. */
  public record Settings(java.util.function.Supplier<TaskKinds> kinds, JobQueue.Limits limits, int slotsMin, int slotsMax, int replicas, Duration tick) {
    public Settings {
      if (replicas < 1 || replicas > 16) {
        throw new IllegalArgumentException("ferry.jobs.replicas must be between 1 and 16, got " + replicas);
      }
    }
  }

  private record Pending(Runnable answer, int needed, Set<String> acked, long sinceMillis) {}

  /** Operations of one request waiting for the next batch write, and how to answer them (no one to answer: a tick's own). */
  private record Buffered(List<QueueOp> ops, int copies, ActorRef<Answer> replyTo, java.util.function.Function<List<Object>, Answer> answer) {}

  private record Flush() implements Command {}

  private final ActorContext<Command> ctx;
  private final Settings settings;
  private final ActorRef<QueueReplica.Ack> ackAdapter;
  private final Map<Long, Pending> pending = new TreeMap<>();
  private List<ActorRef<QueueReplica.Command>> replicas = List.of();
  /** Until the first write of this incarnation: it starts with a {@link QueueOp.TakeOver}. */
  private boolean takenOver;
  /**
   * Operations that arrived while a write was in flight: the next write takes them all, so the
   * journal sees one write per batch instead of one per lease, renewal or result.
   */
  private List<Buffered> buffer = new ArrayList<>();
  /** Operations in {@link #buffer}. */
  private int buffered;
  /** Batch writes by this incarnation. */
  private long writes;
  private boolean flushing;

  public static Behavior<Command> create(Settings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(new Tick(), settings.tick());
      return new JobQueueHost(ctx, settings);
    }));
  }

  private JobQueueHost(ActorContext<Command> ctx, Settings settings) {
    super(PersistenceId.ofUniqueId("ferry-job-queue"));
    this.ctx = ctx;
    this.settings = settings;
    this.ackAdapter = ctx.messageAdapter(QueueReplica.Ack.class, Acked::new);
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(QueueReplica.KEY, ctx.messageAdapter(Receptionist.Listing.class, ReplicasChanged::new)));
  }

  @Override
  public State emptyState() {
    return new State(JobQueue.create(TaskKinds.unchecked(), List.of(), settings.limits()));
  }

  @Override
  public EventHandler<State, QueueOp> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((s, op) -> {
      Object r = op.applyTo(s.queue);
      if (op instanceof QueueOp.Batch b) {
        if (s.collecting) {
          @SuppressWarnings("unchecked")
          List<Object> each = (List<Object>) r;
          s.results.addAll(each);
        }
        s.applied += b.ops().size();
      } else {
        if (s.collecting) {
          s.results.add(r);
        }
        s.applied++;
      }
      return s;
    });
  }

  @Override
  public CommandHandler<Command, QueueOp, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(SubmitJob.class, this::onSubmit)
        .onCommand(CancelJob.class, (s, c) -> apply(s, new QueueOp.Cancel(c.job(), now()), settings.replicas(), c.replyTo(),
            r -> r instanceof Integer n ? new Cancelled(c.job(), n) : new Refused(String.valueOf(r))))
        .onCommand(Exchange.class, this::onExchange)
        .onCommand(GetJobs.class, (s, c) -> {
          long now = now();
          List<JobView> jobs = c.job().map(j -> s.queue.job(j, now).stream().toList()).orElseGet(() -> s.queue.jobs(now));
          c.replyTo().tell(new Jobs(jobs, s.queue.pools().stream()
              .map(p -> new PoolView(p.id(), p.site(), p.tier(), s.queue.isLive(p.id()), s.queue.queuedFor(p.id()))).toList()));
          return Effect().none();
        })
        .onCommand(GetStats.class, (s, c) -> {
          c.replyTo().tell(new StatsReply(s.queue.stats(), s.applied, writes));
          return Effect().none();
        })
        .onCommand(ReplicasChanged.class, (s, c) -> {
          replicas = chooseReplicas(c.listing().getServiceInstances(QueueReplica.KEY));
          return Effect().none();
        })
        .onCommand(Acked.class, (s, c) -> {
          Pending p = pending.get(c.ack().seqNr());
          if (p != null) {
            p.acked().add(c.ack().member());
            answerReady();
          }
          return Effect().none();
        })
        .onCommand(Tick.class, this::onTick)
        .onCommand(Flush.class, (s, c) -> onFlush(s))
        .build();
  }

  private Effect<QueueOp, State> onSubmit(State s, SubmitJob c) {
    int others = replicas.size();
    if (c.replicas() < 1 || c.replicas() - 1 > others) {
      c.replyTo().tell(new Refused("replica count " + c.replicas() + " needs " + (c.replicas() - 1) + " queue replicas on other members; " + others + " are up"));
      return Effect().none();
    }
    try {
      // Checked before persisting: a refused job leaves nothing in the journal.
      JobQueue probe = JobQueue.create(settings.kinds().get(), s.queue.pools());
      probe.submit(c.job(), now());
      Optional<JobView> existing = s.queue.job(c.job().id(), now());
      if (existing.isPresent()) {
        s.queue.submit(c.job(), now()); // same tasks: a repeated submit; other tasks: refused with the reason
        c.replyTo().tell(new Submitted(c.job().id(), false, c.job().tasks().size()));
        return Effect().none();
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      c.replyTo().tell(new Refused(e.getMessage()));
      return Effect().none();
    }
    return apply(s, new QueueOp.Submit(c.job(), now()), c.replicas(), c.replyTo(),
        r -> r instanceof Boolean created ? new Submitted(c.job().id(), created, c.job().tasks().size()) : new Refused(String.valueOf(r)));
  }

  private Effect<QueueOp, State> onExchange(State s, Exchange c) {
    long now = now();
    List<QueueOp> ops = new ArrayList<>();
    c.reports().forEach(r -> ops.add(new QueueOp.Complete(r.task(), r.epoch(), r.outcome(), now)));
    c.renewals().forEach(r -> ops.add(new QueueOp.Renew(r.task(), r.epoch(), now)));
    // Asked for after the reports: a slot one of them frees is filled in the same round trip.
    boolean lease = c.leaseMax() > 0 && s.queue.isLive(c.pool()) && (s.queue.queuedFor(c.pool()) > 0 || !c.reports().isEmpty());
    if (lease) {
      ops.add(new QueueOp.LeaseTasks(c.pool(), c.holder(), c.leaseMax(), now));
    }
    if (ops.isEmpty()) {
      // Nothing to write: answered at once, so idle workers cost the journal nothing.
      c.replyTo().tell(new Exchanged(c.id(), List.of(), List.of(), List.of(), s.queue.isLive(c.pool()) ? s.queue.queuedFor(c.pool()) : 0));
      return Effect().none();
    }
    return apply(s, ops, settings.replicas(), c.replyTo(), results -> {
      List<Reported> reports = new ArrayList<>();
      List<Renewed> renewals = new ArrayList<>();
      for (int i = 0; i < c.reports().size(); i++) {
        Report r = c.reports().get(i);
        reports.add(results.get(i) instanceof JobQueue.CompleteResult.Accepted a
            ? new Reported(r.task(), r.epoch(), true, a.state().name())
            : new Reported(r.task(), r.epoch(), false, ((JobQueue.CompleteResult.Refused) results.get(i)).reason()));
      }
      for (int i = 0; i < c.renewals().size(); i++) {
        Renewal r = c.renewals().get(i);
        Object result = results.get(c.reports().size() + i);
        renewals.add(result instanceof JobQueue.RenewResult.Renewed ok
            ? new Renewed(r.task(), r.epoch(), ok.lease(), "")
            : new Renewed(r.task(), r.epoch(), null, ((JobQueue.RenewResult.Lost) result).reason()));
      }
      List<Grant> grants = new ArrayList<>();
      if (lease) {
        @SuppressWarnings("unchecked")
        List<Lease> leases = (List<Lease>) results.get(results.size() - 1);
        leases.forEach(l -> grants.add(new Grant(l, s.queue.taskSpec(l.task()).orElseThrow())));
      }
      return new Exchanged(c.id(), reports, renewals, grants, s.queue.queuedFor(c.pool()));
    });
  }

  /** Queues {@code op} for the next batch write; it is answered once {@code copies} journals hold it. */
  private Effect<QueueOp, State> apply(State s, QueueOp op, int copies, ActorRef<Answer> replyTo, java.util.function.Function<Object, Answer> answer) {
    return apply(s, List.of(op), copies, replyTo, results -> answer.apply(results.get(0)));
  }

  /** Queues {@code ops} for the next batch write; they are answered together once {@code copies} journals hold them. */
  private Effect<QueueOp, State> apply(State s, List<QueueOp> ops, int copies, ActorRef<Answer> replyTo, java.util.function.Function<List<Object>, Answer> answer) {
    if (pending.size() + buffered >= PENDING_MAX) {
      replyTo.tell(new Refused("the queue has " + (pending.size() + buffered) + " operations waiting to be written and replicated; try again"));
      return Effect().none();
    }
    buffer.add(new Buffered(ops, copies, replyTo, answer));
    buffered += ops.size();
    if (!flushing) {
      flushing = true;
      ctx.getSelf().tell(new Flush());
    }
    return Effect().none();
  }

  /** Writes every buffered operation in one batch, replicates the batch, and answers once enough replicas hold it. */
  private Effect<QueueOp, State> onFlush(State s) {
    flushing = false;
    if (buffer.isEmpty()) {
      return Effect().none();
    }
    List<Buffered> batch = buffer;
    buffer = new ArrayList<>();
    buffered = 0;
    List<QueueOp> ops = withTakeOver(batch.stream().flatMap(b -> b.ops().stream()).toList());
    int offset = ops.size() - batch.stream().mapToInt(b -> b.ops().size()).sum();
    int copies = batch.stream().mapToInt(Buffered::copies).max().orElse(1);
    s.results.clear();
    s.collecting = true;
    writes++;
    // One event per batch: the journal writes one row, however many operations it carries.
    QueueOp event = ops.size() == 1 ? ops.get(0) : new QueueOp.Batch(ops, now());
    return Effect().persist(event).thenRun(st -> {
      st.collecting = false;
      List<Runnable> answers = new ArrayList<>();
      int at = offset;
      for (Buffered b : batch) {
        List<Object> results = new ArrayList<>(st.results.subList(at, at + b.ops().size()));
        at += b.ops().size();
        if (b.replyTo() != null) {
          Answer a = b.answer().apply(results);
          answers.add(() -> b.replyTo().tell(a));
        }
      }
      st.results.clear();
      long last = st.applied;
      // One replica more than needed: a replica on a member that just died (the receptionist
      // lists it until it is found unreachable) does not hold the answers up.
      List<ActorRef<QueueReplica.Command>> to = copies <= 1 ? List.of() : replicas.subList(0, Math.min(replicas.size(), copies));
      for (ActorRef<QueueReplica.Command> r : to) {
        r.tell(new QueueReplica.Replicate(last, ops, ackAdapter));
      }
      int needed = Math.min(copies - 1, to.size());
      if (needed <= 0) {
        answers.forEach(Runnable::run);
      } else {
        pending.put(last, new Pending(() -> answers.forEach(Runnable::run), needed, new HashSet<>(), now()));
      }
    });
  }

  /** {@code ops}, after a {@link QueueOp.TakeOver} when they are this incarnation's first write. */
  private List<QueueOp> withTakeOver(List<QueueOp> ops) {
    if (takenOver) {
      return ops;
    }
    takenOver = true;
    List<QueueOp> all = new ArrayList<>();
    all.add(new QueueOp.TakeOver(now()));
    all.addAll(ops);
    return all;
  }

  /** Answers, in order, every pending operation whose replicas have all persisted it. */
  private void answerReady() {
    var it = pending.entrySet().iterator();
    while (it.hasNext()) {
      Pending p = it.next().getValue();
      if (p.acked().size() < p.needed()) {
        return;
      }
      it.remove();
      p.answer().run();
    }
  }

  private Effect<QueueOp, State> onTick(State s, Tick t) {
    long now = now();
    // An operation whose replicas went away is never answered; its requester has timed out and
    // asks again (every request is safe to repeat), so it only has to leave the pending set.
    pending.values().removeIf(p -> now - p.sinceMillis() > PENDING_TIMEOUT.toMillis());
    List<QueueOp> ops = new ArrayList<>();
    Map<Site, Tier> up = new TreeMap<>();
    Cluster cluster = Cluster.get(ctx.getSystem());
    // Membership is read only by a host that is Up and has written what it saw last: a host whose
    // member is leaving or being downed sees every member go, and must not write that down; a
    // tick before the last batch is written would write the same change twice.
    boolean readMembership = cluster.selfMember().status() == MemberStatus.up() && buffer.isEmpty() && !flushing;
    for (Member m : readMembership ? cluster.state().getMembers() : List.<Member>of()) {
      if (m.status() == MemberStatus.up() && m.getRoles().contains(MemberRoles.WORKER)) {
        Optional<Site> site = MemberRoles.site(m.getRoles());
        Optional<Tier> tier = MemberRoles.tier(m.getRoles());
        if (site.isPresent() && tier.isPresent()) {
          up.put(site.get(), tier.get());
        }
      }
    }
    Set<PoolId> known = new HashSet<>();
    for (PoolSpec p : s.queue.pools()) {
      known.add(p.id());
      if (readMembership && s.queue.isLive(p.id()) && !up.containsKey(p.site())) {
        ops.add(new QueueOp.PoolDown(p.id(), now));
      }
    }
    up.forEach((site, tier) -> {
      PoolId id = new PoolId(site.name());
      if (!known.contains(id) || !s.queue.isLive(id)) {
        ops.add(new QueueOp.PoolUp(new PoolSpec(id, site, tier, settings.slotsMin(), settings.slotsMax()), now));
      }
    });
    if (s.queue.nextExpiryMillis().map(e -> e <= now).orElse(false)) {
      ops.add(new QueueOp.Expire(now));
    }
    if (ops.isEmpty() && takenOver) {
      return Effect().none();
    }
    ops.stream().filter(op -> !(op instanceof QueueOp.Expire)).forEach(op -> ctx.getLog().info("job queue: {}", op));
    if (ops.isEmpty()) {
      // A new host writes its take-over at once, before any worker asks.
      ops.add(new QueueOp.Expire(now));
    }
    buffer.add(new Buffered(List.copyOf(ops), settings.replicas(), null, r -> null));
    buffered += ops.size();
    if (!flushing) {
      flushing = true;
      ctx.getSelf().tell(new Flush());
    }
    return Effect().none();
  }

  /** Replicas on other members, those at other sites first, then by address: a stable choice. */
  private List<ActorRef<QueueReplica.Command>> chooseReplicas(Set<ActorRef<QueueReplica.Command>> all) {
    Cluster cluster = Cluster.get(ctx.getSystem());
    Address self = cluster.selfMember().address();
    Optional<Site> selfSite = MemberRoles.site(cluster.selfMember().getRoles());
    Map<Address, Optional<Site>> siteOf = new HashMap<>();
    for (Member m : cluster.state().getMembers()) {
      siteOf.put(m.address(), MemberRoles.site(m.getRoles()));
    }
    return all.stream()
        .filter(r -> !addressOf(r).equals(self))
        .sorted(Comparator.<ActorRef<QueueReplica.Command>, Boolean>comparing(r -> siteOf.getOrDefault(addressOf(r), Optional.empty()).equals(selfSite))
            .thenComparing(r -> addressOf(r).toString()))
        .toList();
  }

  private Address addressOf(ActorRef<?> ref) {
    Address a = ref.path().address();
    return a.hasLocalScope() ? Cluster.get(ctx.getSystem()).selfMember().address() : a;
  }

  private static long now() {
    return System.currentTimeMillis();
  }
}
