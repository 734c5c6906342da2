package io.ferry.tasks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A member's task slots in its site's pool: leases tasks from the queue with the pool's {@link
 * PoolScheduler} (as many as its {@link PoolSizer} allows), runs each with the {@link TaskRunner}
 * of its kind, renews the leases while they run (the heartbeat), stops an attempt whose lease is
 * lost or whose deadline passed without a renewal, and reports each outcome under its lease.
 */
public final class TaskWorker {

  public sealed interface Command {}

  private record Tick() implements Command {}

  private record Answered(JobQueueHost.Answer answer) implements Command {}

  private record TimedOut(long id) implements Command {}

  /** An exchange sent and what it carried; kept past its timeout, so that a late answer still delivers its leases. */
  private record Sent(long sentAt, List<Reporting> reports, List<Lease> renewals, boolean leased) {}

  private record Finished(Lease lease, Outcome outcome) implements Command {}

  /** @param askTimeout how long one request to the queue may take */
  public record Settings(PoolId pool, String holder, int slotsMin, int slotsMax, Duration tick, Duration askTimeout) {}

  private final ActorContext<Command> ctx;
  private final ActorRef<JobQueueHost.Command> queue;
  private final Settings settings;
  private final java.util.function.Function<String, TaskRunner> runners;
  private final PoolScheduler scheduler;
  private final Map<TaskId, CompletableFuture<String>> stops = new HashMap<>();
  private boolean leasing;
  /**
   * Attempts that ended and whose outcome the queue has not answered yet. Their leases stay held
   * and renewed while they can be; past the lease's deadline the outcome is still sent (the attempt
   * no longer runs, so nothing runs twice): a queue host that took over meanwhile has given every
   * lease a full duration from its start and accepts it.
   */
  private final Map<TaskId, Reporting> reporting = new HashMap<>();
  /** Outcomes in an exchange not answered yet: not sent again until it is answered or has timed out. */
  private final Set<TaskId> reportsInFlight = new HashSet<>();
  /** Exchanges waiting for their answer, by id. */
  private final Map<Long, Sent> outstanding = new HashMap<>();
  /**
   * Exchanges whose wait ran out, oldest first: their contents were offered again, but a late
   * answer still delivers the leases it granted (dropping them would leave each to expire, an
   * attempt spent for nothing). Bounded by {@link #LATE_MAX}.
   */
  private final java.util.LinkedHashMap<Long, Sent> late = new java.util.LinkedHashMap<>();

  private static final int LATE_MAX = 256;
  private long nextExchange;
  private final ActorRef<JobQueueHost.Answer> answers;
  private final org.apache.pekko.actor.typed.javadsl.TimerScheduler<Command> timers;

  private record Reporting(Lease lease, Outcome outcome, Duration timeout, long giveUpAtMillis) {}

  /** How long an ended attempt's outcome is offered to a queue that does not answer. */
  private static final Duration REPORT_GIVE_UP = Duration.ofMinutes(2);
  private int queuedForPool;

  /** @param runners the runner of a kind, or null when this member has none */
  public static Behavior<Command> create(ActorRef<JobQueueHost.Command> queue, Settings settings, java.util.function.Function<String, TaskRunner> runners) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.setLoggerName(TaskWorker.class);
      timers.startTimerWithFixedDelay(new Tick(), settings.tick());
      return new TaskWorker(ctx, timers, queue, settings, runners).behavior();
    }));
  }

  private TaskWorker(ActorContext<Command> ctx, org.apache.pekko.actor.typed.javadsl.TimerScheduler<Command> timers, ActorRef<JobQueueHost.Command> queue,
      Settings settings, java.util.function.Function<String, TaskRunner> runners) {
    this.ctx = ctx;
    this.timers = timers;
    this.answers = ctx.messageAdapter(JobQueueHost.Answer.class, Answered::new);
    this.queue = queue;
    this.settings = settings;
    this.runners = runners;
    this.scheduler = PoolScheduler.create(settings.pool(), PoolSizer.create(settings.slotsMin(), settings.slotsMax(), 20, 0.5));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Tick.class, t -> onTick())
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(TimedOut.class, this::onTimedOut)
        .onMessage(Finished.class, this::onFinished)
        .onSignal(PostStop.class, s -> {
          // A member that stops takes its attempts down with it: an external process must not
          // run on after its lease can no longer be renewed.
          stops.values().forEach(f -> f.complete("the member is stopping"));
          return Behaviors.same();
        })
        .build();
  }

  /**
   * Sends this tick's traffic as one {@link JobQueueHost.Exchange}: the outcomes waiting to be
   * reported, the renewals due, and a lease request for the free slots (those the reports free
   * included). One round trip per tick, however many tasks this member runs.
   */
  private Behavior<Command> onTick() {
    long now = System.currentTimeMillis();
    for (Lease l : scheduler.expiredLocally(now)) {
      ctx.getLog().warn("task={} lease {} not renewed in time: {}", l.task(), l.epoch(),
          reporting.containsKey(l.task()) ? "its attempt has ended; its outcome is still being reported" : "stopping it (another pool may take it)");
      stop(l.task(), "lease not renewed before its deadline");
    }
    List<Reporting> reports = new ArrayList<>();
    for (var it = reporting.values().iterator(); it.hasNext(); ) {
      Reporting r = it.next();
      if (reportsInFlight.contains(r.lease().task())) {
        continue;
      }
      if (now >= r.giveUpAtMillis()) {
        ctx.getLog().warn("task={} outcome under lease {} not answered for {}: given up", r.lease().task(), r.lease().epoch(), REPORT_GIVE_UP);
        it.remove();
        scheduler.onLost(r.lease().task());
      } else if (reports.size() < JobQueue.LEASE_BATCH_MAX) {
        reports.add(r);
      }
    }
    List<Lease> renewals = scheduler.renewalsDue(now);
    if (renewals.size() > JobQueue.LEASE_BATCH_MAX) {
      renewals.subList(JobQueue.LEASE_BATCH_MAX, renewals.size()).forEach(l -> scheduler.onRenewUnanswered(l.task()));
      renewals = new ArrayList<>(renewals.subList(0, JobQueue.LEASE_BATCH_MAX));
    }
    PoolSizer.Resize resize = scheduler.sizer().resize(queuedForPool, scheduler.holding());
    if (resize.from() != resize.to() || resize.failing()) {
      ctx.getLog().info("pool={} member slots {} -> {}{}: {}", settings.pool(), resize.from(), resize.to(), resize.failing() ? " (failing)" : "", resize.reason());
    }
    // Reports whose lease this member no longer holds (lost meanwhile) free no slot.
    int freeing = (int) reports.stream().filter(r -> scheduler.held(r.lease().task()).isPresent()).count();
    int wanted = leasing ? 0 : scheduler.wanted(freeing);
    if (reports.isEmpty() && renewals.isEmpty() && wanted == 0) {
      return Behaviors.same();
    }
    // The request waits no longer than its most urgent part allows: a heartbeat or a report a
    // third of its lease (so it is retried before the lease runs out), a lease request ten ticks
    // but at least a second (an answer after that still delivers its leases, but meanwhile
    // another request may have asked for the same slots).
    Duration wait = settings.askTimeout();
    for (Lease l : renewals) {
      wait = min(wait, heartbeatTimeout(l.task()));
    }
    for (Reporting r : reports) {
      wait = min(wait, r.timeout());
      reportsInFlight.add(r.lease().task());
    }
    if (wanted > 0) {
      leasing = true;
      Duration tenTicks = settings.tick().multipliedBy(10);
      wait = min(wait, tenTicks.compareTo(Duration.ofSeconds(1)) > 0 ? tenTicks : Duration.ofSeconds(1));
    }
    long id = nextExchange++;
    Sent sent = new Sent(now, List.copyOf(reports), List.copyOf(renewals), wanted > 0);
    outstanding.put(id, sent);
    timers.startSingleTimer(new TimedOut(id), new TimedOut(id), wait);
    queue.tell(new JobQueueHost.Exchange(id, settings.pool(), settings.holder(),
        sent.reports().stream().map(x -> new JobQueueHost.Report(x.lease().task(), x.lease().epoch(), x.outcome())).toList(),
        sent.renewals().stream().map(l -> new JobQueueHost.Renewal(l.task(), l.epoch())).toList(), wanted, answers));
    return Behaviors.same();
  }

  /**
   * No answer in time (the queue host may be moving or slow): the renewals are tried again at
   * once, the outcomes at the next tick, and another lease request may go out.
   */
  private Behavior<Command> onTimedOut(TimedOut t) {
    Sent m = outstanding.remove(t.id());
    if (m == null) {
      return Behaviors.same();
    }
    settle(m);
    m.renewals().forEach(l -> scheduler.onRenewUnanswered(l.task()));
    late.put(t.id(), m);
    if (late.size() > LATE_MAX) {
      late.remove(late.keySet().iterator().next());
    }
    return Behaviors.same();
  }

  private void settle(Sent m) {
    if (m.leased()) {
      leasing = false;
    }
    m.reports().forEach(r -> reportsInFlight.remove(r.lease().task()));
  }

  private Behavior<Command> onAnswered(Answered a) {
    if (!(a.answer() instanceof JobQueueHost.Exchanged ex)) {
      return Behaviors.same(); // refused (the queue is overloaded): the exchange times out and is offered again
    }
    Sent m = outstanding.remove(ex.id());
    if (m != null) {
      timers.cancel(new TimedOut(ex.id()));
      settle(m);
    } else {
      m = late.remove(ex.id());
      if (m == null) {
        return Behaviors.same();
      }
    }
    queuedForPool = ex.queuedForPool();
    // Outcomes first: their slots are what the grants fill. Late answers apply the same way: an
    // outcome or renewal answered twice is matched against what is still held.
    ex.reports().forEach(this::onReported);
    long sentAt = m.sentAt();
    ex.renewals().forEach(r -> onRenewal(r, sentAt));
    long now = System.currentTimeMillis();
    for (JobQueueHost.Grant g : ex.grants()) {
      Lease l = g.lease();
      if (scheduler.held(l.task()).isPresent()) {
        continue; // a late answer's grant of a task held already under a newer lease
      }
      if (m.sentAt() + g.spec().leaseDuration().toMillis() <= now + settings.tick().toMillis()) {
        // The answer came so late that the lease, counted from the request, is already over:
        // running it could overlap another pool's attempt, so it is left to expire.
        ctx.getLog().warn("task={} lease {} arrived after its deadline: not run", l.task(), l.epoch());
        continue;
      }
      scheduler.onLeased(l, g.spec().leaseDuration(), m.sentAt());
      CompletableFuture<String> stopped = new CompletableFuture<>();
      stops.put(l.task(), stopped);
      TaskRunner runner = runners.apply(g.spec().kind());
      ctx.getLog().info("task={} kind={} leased by {} (lease {}, pool {})", l.task(), g.spec().kind(), settings.holder(), l.epoch(), l.pool());
      if (runner == null) {
        ctx.getSelf().tell(new Finished(l, new Outcome.Failed("no runner for kind '" + g.spec().kind() + "' on " + settings.holder())));
        continue;
      }
      try {
        ctx.pipeToSelf(runner.run(new TaskRunner.Context(l.task(), g.spec().parameters(), l.pool(), settings.holder(), l.epoch(), stopped)),
            (o, e) -> new Finished(l, e != null ? new Outcome.Failed("runner failed: " + e) : o));
      } catch (RuntimeException e) {
        ctx.getSelf().tell(new Finished(l, new Outcome.Failed("runner failed: " + e)));
      }
    }
    return Behaviors.same();
  }

  private void onRenewal(JobQueueHost.Renewed r, long sentAt) {
    if (r.ok()) {
      scheduler.onRenewed(r.lease(), sentAt);
    } else if (scheduler.held(r.task()).map(h -> h.lease().epoch() == r.epoch()).orElse(false)) {
      ctx.getLog().info("task={} lease {} lost: {}", r.task(), r.epoch(), r.reason());
      reporting.remove(r.task());
      scheduler.onLost(r.task());
      stop(r.task(), r.reason());
    }
  }

  private Behavior<Command> onFinished(Finished m) {
    var held = scheduler.held(m.lease().task()).filter(h -> h.lease().epoch() == m.lease().epoch());
    stops.remove(m.lease().task());
    if (held.isEmpty()) {
      return Behaviors.same(); // stopped already: its lease is gone, its outcome must not count
    }
    ctx.getLog().info("task={} attempt under lease {} ended: {}", m.lease().task(), m.lease().epoch(), m.outcome());
    Duration third = held.get().duration().dividedBy(3);
    // Sent with the next tick's exchange, together with everything else this member has to say.
    reporting.put(m.lease().task(), new Reporting(m.lease(), m.outcome(), min(third, settings.askTimeout()),
        System.currentTimeMillis() + REPORT_GIVE_UP.toMillis()));
    return Behaviors.same();
  }

  private void onReported(JobQueueHost.Reported m) {
    Reporting r = reporting.get(m.task());
    if (r == null || r.lease().epoch() != m.epoch()) {
      return;
    }
    if (!m.accepted()) {
      ctx.getLog().warn("task={} outcome under lease {} refused: {}", m.task(), m.epoch(), m.detail());
    }
    reporting.remove(m.task());
    scheduler.onFinished(m.task(), r.outcome() instanceof Outcome.Succeeded);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** A heartbeat waits a third of the lease at most, so an unanswered one is retried before the lease runs out. */
  private Duration heartbeatTimeout(TaskId task) {
    Duration third = scheduler.held(task).map(h -> h.duration().dividedBy(3)).orElse(settings.askTimeout());
    return third.compareTo(settings.askTimeout()) < 0 ? third : settings.askTimeout();
  }

  private void stop(TaskId task, String why) {
    CompletableFuture<String> f = stops.remove(task);
    if (f != null) {
      f.complete(why);
    }
  }
}
