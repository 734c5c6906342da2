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
  /** Attempts at delivering an outcome before the worker leaves it to the lease's expiry. */
  private static final int REPORT_TRIES_MAX = 5;

  public sealed interface Command {}

  private record Tick() implements Command {}

  private record GotLeases(long sentAt, JobQueueHost.Answer answer, Throwable failure) implements Command {}

  private record GotRenewal(Lease lease, long sentAt, JobQueueHost.Answer answer, Throwable failure) implements Command {}

  private record Finished(Lease lease, Outcome outcome) implements Command {}

  private record Reported(Lease lease, Outcome outcome, int tries, JobQueueHost.Answer answer, Throwable failure) implements Command {}

  /** @param askTimeout how long one request to the queue may take */
  public record Settings(PoolId pool, String holder, int slotsMin, int slotsMax, Duration tick, Duration askTimeout) {}

  private final ActorContext<Command> ctx;
  private final ActorRef<JobQueueHost.Command> queue;
  private final Settings settings;
  private final java.util.function.Function<String, TaskRunner> runners;
  private final PoolScheduler scheduler;
  private final Map<TaskId, CompletableFuture<String>> stops = new HashMap<>();
  private boolean leasing;
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
      ctx.getLog().warn("task={} lease {} not renewed in time: stopping it (another pool may take it)", l.task(), l.epoch());
      stop(l.task(), "lease not renewed before its deadline");
    }
    for (Lease l : scheduler.renewalsDue(now)) {
      ctx.pipeToSelf(ask(r -> new JobQueueHost.RenewLease(l.task(), l.epoch(), r)), (a, e) -> new GotRenewal(l, now, a, e));
    }
    PoolSizer.Resize resize = scheduler.sizer().resize(queuedForPool, scheduler.holding());
    if (resize.from() != resize.to() || resize.failing()) {
      ctx.getLog().info("pool={} member slots {} -> {}{}: {}", settings.pool(), resize.from(), resize.to(), resize.failing() ? " (failing)" : "", resize.reason());
    }
    int wanted = scheduler.wanted();
    if (wanted > 0 && !leasing) {
      leasing = true;
      ctx.pipeToSelf(ask(r -> new JobQueueHost.LeaseTasks(settings.pool(), settings.holder(), wanted, r)), (a, e) -> new GotLeases(now, a, e));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onLeases(GotLeases m) {
    leasing = false;
    if (!(m.answer() instanceof JobQueueHost.Leased leased)) {
      return Behaviors.same(); // timed out or refused: the next tick asks again; an orphan lease expires
    }
    queuedForPool = leased.queuedForPool();
    for (JobQueueHost.Grant g : leased.grants()) {
      Lease l = g.lease();
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
        scheduler.onLost(m.lease().task());
        stop(m.lease().task(), lost.reason());
      }
    } else {
      scheduler.onRenewUnanswered(m.lease().task());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onFinished(Finished m) {
    boolean current = scheduler.held(m.lease().task()).map(h -> h.lease().epoch() == m.lease().epoch()).orElse(false);
    stops.remove(m.lease().task());
    if (!current) {
      return Behaviors.same(); // stopped already: its lease is gone, its outcome must not count
    }
    scheduler.onFinished(m.lease().task(), m.outcome() instanceof Outcome.Succeeded);
    ctx.getLog().info("task={} attempt under lease {} ended: {}", m.lease().task(), m.lease().epoch(), m.outcome());
    report(m.lease(), m.outcome(), 1);
    return Behaviors.same();
  }

  private void report(Lease l, Outcome o, int tries) {
    ctx.pipeToSelf(ask(r -> new JobQueueHost.CompleteTask(l.task(), l.epoch(), o, r)), (a, e) -> new Reported(l, o, tries, a, e));
  }

  private Behavior<Command> onReported(Reported m) {
    if (m.answer() == null && m.tries() < REPORT_TRIES_MAX) {
      report(m.lease(), m.outcome(), m.tries() + 1);
    } else if (m.answer() instanceof JobQueueHost.Refused r) {
      ctx.getLog().warn("task={} outcome under lease {} refused: {}", m.lease().task(), m.lease().epoch(), r.reason());
    }
    return Behaviors.same();
  }

  private void stop(TaskId task, String why) {
    CompletableFuture<String> f = stops.remove(task);
    if (f != null) {
      f.complete(why);
    }
  }

  private java.util.concurrent.CompletionStage<JobQueueHost.Answer> ask(java.util.function.Function<ActorRef<JobQueueHost.Answer>, JobQueueHost.Command> msg) {
    return AskPattern.ask(queue, msg::apply, settings.askTimeout(), ctx.getSystem().scheduler());
  }
}
