package io.ferry.tasks;

import io.ferry.persistence.CborSerializable;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
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

  private record GotLeases(long sentAt, JobQueueHost.Answer answer, Throwable failure) implements Command {}

  private record GotRenewal(Lease lease, long sentAt, JobQueueHost.Answer answer, Throwable failure) implements Command {}

  private record Finished(Lease lease, Outcome outcome) implements Command {}

  private record Reported(Lease lease, Outcome outcome, JobQueueHost.Answer answer, Throwable failure) implements Command {}

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

  private record Reporting(Lease lease, Outcome outcome, Duration timeout, long giveUpAtMillis) {}

  /** How long an ended attempt's outcome is offered to a queue that does not answer. */
  private static final Duration REPORT_GIVE_UP = Duration.ofMinutes(2);
  private int queuedForPool;

  /** @param runners the runner of a kind, or null when this member has none */
  public static Behavior<Command> create(ActorRef<JobQueueHost.Command> queue, Settings settings, java.util.function.Function<String, TaskRunner> runners) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.setLoggerName(TaskWorker.class);
      timers.startTimerWithFixedDelay(new Tick(), settings.tick());
      return new TaskWorker(ctx, queue, settings, runners).behavior();
    }));
  }

  private TaskWorker(ActorContext<Command> ctx, ActorRef<JobQueueHost.Command> queue, Settings settings, java.util.function.Function<String, TaskRunner> runners) {
    this.ctx = ctx;
    this.queue = queue;
    this.settings = settings;
    this.runners = runners;
    this.scheduler = PoolScheduler.create(settings.pool(), PoolSizer.create(settings.slotsMin(), settings.slotsMax(), 20, 0.5));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Tick.class, t -> onTick())
        .onMessage(GotLeases.class, this::onLeases)
        .onMessage(GotRenewal.class, this::onRenewal)
        .onMessage(Finished.class, this::onFinished)
        .onMessage(Reported.class, this::onReported)
        .onSignal(PostStop.class, s -> {
          // A member that stops takes its attempts down with it: an external process must not
          // run on after its lease can no longer be renewed.
          stops.values().forEach(f -> f.complete("the member is stopping"));
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<Command> onTick() {
    long now = System.currentTimeMillis();
    for (Lease l : scheduler.expiredLocally(now)) {
      ctx.getLog().warn("task={} lease {} not renewed in time: {}", l.task(), l.epoch(),
          reporting.containsKey(l.task()) ? "its attempt has ended; its outcome is still being reported" : "stopping it (another pool may take it)");
      stop(l.task(), "lease not renewed before its deadline");
    }
    for (Lease l : scheduler.renewalsDue(now)) {
      ctx.pipeToSelf(ask(r -> new JobQueueHost.RenewLease(l.task(), l.epoch(), r), heartbeatTimeout(l.task())), (a, e) -> new GotRenewal(l, now, a, e));
    }
    PoolSizer.Resize resize = scheduler.sizer().resize(queuedForPool, scheduler.holding());
    if (resize.from() != resize.to() || resize.failing()) {
      ctx.getLog().info("pool={} member slots {} -> {}{}: {}", settings.pool(), resize.from(), resize.to(), resize.failing() ? " (failing)" : "", resize.reason());
    }
    int wanted = scheduler.wanted();
    if (wanted > 0 && !leasing) {
      leasing = true;
      // A lease request waits ten ticks at most: one left hanging while the queue host moves would
      // only bring back leases whose time has run out.
      Duration wait = settings.tick().multipliedBy(10).compareTo(settings.askTimeout()) < 0 ? settings.tick().multipliedBy(10) : settings.askTimeout();
      ctx.pipeToSelf(ask(r -> new JobQueueHost.LeaseTasks(settings.pool(), settings.holder(), wanted, r), wait), (a, e) -> new GotLeases(now, a, e));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onLeases(GotLeases m) {
    leasing = false;
    if (!(m.answer() instanceof JobQueueHost.Leased leased)) {
      return Behaviors.same(); // timed out or refused: the next tick asks again; an orphan lease expires
    }
    queuedForPool = leased.queuedForPool();
    long now = System.currentTimeMillis();
    for (JobQueueHost.Grant g : leased.grants()) {
      Lease l = g.lease();
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

  private Behavior<Command> onRenewal(GotRenewal m) {
    if (m.answer() instanceof JobQueueHost.Renewed ok) {
      scheduler.onRenewed(ok.lease(), m.sentAt());
    } else if (m.answer() instanceof JobQueueHost.LeaseLost lost) {
      if (scheduler.held(m.lease().task()).map(h -> h.lease().epoch() == m.lease().epoch()).orElse(false)) {
        ctx.getLog().info("task={} lease {} lost: {}", m.lease().task(), m.lease().epoch(), lost.reason());
        reporting.remove(m.lease().task());
        scheduler.onLost(m.lease().task());
        stop(m.lease().task(), lost.reason());
      }
    } else {
      scheduler.onRenewUnanswered(m.lease().task());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onFinished(Finished m) {
    var held = scheduler.held(m.lease().task()).filter(h -> h.lease().epoch() == m.lease().epoch());
    stops.remove(m.lease().task());
    if (held.isEmpty()) {
      return Behaviors.same(); // stopped already: its lease is gone, its outcome must not count
    }
    ctx.getLog().info("task={} attempt under lease {} ended: {}", m.lease().task(), m.lease().epoch(), m.outcome());
    Duration third = held.get().duration().dividedBy(3);
    Reporting r = new Reporting(m.lease(), m.outcome(), third.compareTo(settings.askTimeout()) < 0 ? third : settings.askTimeout(),
        System.currentTimeMillis() + REPORT_GIVE_UP.toMillis());
    reporting.put(m.lease().task(), r);
    report(r);
    return Behaviors.same();
  }

  private void report(Reporting r) {
    Lease l = r.lease();
    ctx.pipeToSelf(ask(a -> new JobQueueHost.CompleteTask(l.task(), l.epoch(), r.outcome(), a), r.timeout()), (a, e) -> new Reported(l, r.outcome(), a, e));
  }

  private Behavior<Command> onReported(Reported m) {
    TaskId task = m.lease().task();
    Reporting r = reporting.get(task);
    if (r == null || r.lease().epoch() != m.lease().epoch()) {
      return Behaviors.same();
    }
    if (m.answer() == null) {
      if (System.currentTimeMillis() < r.giveUpAtMillis()) {
        report(r); // no answer (the queue host may be moving): offer it again
      } else {
        ctx.getLog().warn("task={} outcome under lease {} not answered for {}: given up", task, m.lease().epoch(), REPORT_GIVE_UP);
        reporting.remove(task);
        scheduler.onLost(task);
      }
      return Behaviors.same();
    }
    if (m.answer() instanceof JobQueueHost.Refused refused) {
      ctx.getLog().warn("task={} outcome under lease {} refused: {}", task, m.lease().epoch(), refused.reason());
    }
    reporting.remove(task);
    scheduler.onFinished(task, m.outcome() instanceof Outcome.Succeeded);
    return Behaviors.same();
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

  private java.util.concurrent.CompletionStage<JobQueueHost.Answer> ask(java.util.function.Function<ActorRef<JobQueueHost.Answer>, JobQueueHost.Command> msg) {
    return ask(msg, settings.askTimeout());
  }

  private java.util.concurrent.CompletionStage<JobQueueHost.Answer> ask(java.util.function.Function<ActorRef<JobQueueHost.Answer>, JobQueueHost.Command> msg, Duration timeout) {
    return AskPattern.ask(queue, msg::apply, timeout, ctx.getSystem().scheduler());
  }
}
