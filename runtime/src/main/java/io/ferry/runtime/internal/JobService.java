package io.ferry.runtime.internal;

import com.typesafe.config.Config;
import io.ferry.api.Ferry;
import io.ferry.api.FerryException;
import io.ferry.api.JobAccepted;
import io.ferry.api.JobCancelled;
import io.ferry.api.JobStatus;
import io.ferry.api.TaskStatus;
import io.ferry.placement.MemberRoles;
import io.ferry.placement.Site;
import io.ferry.runtime.MemberSettings;
import io.ferry.tasks.CommandRunner;
import io.ferry.tasks.JobId;
import io.ferry.tasks.JobQueue;
import io.ferry.tasks.JobQueueHost;
import io.ferry.tasks.JobSpec;
import io.ferry.tasks.JobView;
import io.ferry.tasks.PoolId;
import io.ferry.tasks.QueueReplica;
import io.ferry.tasks.TaskKind;
import io.ferry.tasks.TaskKinds;
import io.ferry.tasks.TaskRunner;
import io.ferry.tasks.TaskView;
import io.ferry.tasks.TaskWorker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * Jobs on one member: the queue host singleton (on worker members), this member's queue replica
 * and task slots in its site's pool, the task runners by kind (command, volume-migration and an
 * embedder's own), and the API calls of {@link Ferry} that reach the queue.
 */
public final class JobService {
  private final ActorSystem<?> system;
  private final ActorRef<JobQueueHost.Command> queue;
  private final Map<String, TaskRunner> runners = new ConcurrentHashMap<>();
  private final int replicas;
  private final Duration askTimeout;

  public JobService(ActorSystem<?> system, Ferry ferry, Duration askTimeout) {
    Config c = system.settings().config().getConfig("ferry.jobs");
    this.system = system;
    this.askTimeout = askTimeout;
    this.replicas = c.getInt("replicas");
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    register(new CommandRunner(blocking));
    register(new VolumeMigrationRunner(system, ferry, c.getDuration("volume-poll")));
    JobQueueHost.Settings settings = new JobQueueHost.Settings(this::kinds,
        new JobQueue.Limits(c.getInt("volumes-per-site-max"), c.getInt("volumes-per-link-max")),
        c.getInt("slots-min"), c.getInt("slots-max"), replicas, c.getDuration("queue-tick"));
    this.queue = ClusterSingleton.get(system).init(
        SingletonActor.of(
                Behaviors.supervise(JobQueueHost.create(settings))
                    .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
                JobQueueHost.SINGLETON_NAME)
            .withSettings(ClusterSingletonSettings.create(system).withRole(MemberSettings.WORKER_ROLE)));
    Cluster cluster = Cluster.get(system);
    Optional<Site> site = MemberRoles.site(cluster.selfMember().getRoles());
    if (cluster.selfMember().hasRole(MemberSettings.WORKER_ROLE) && site.isPresent()) {
      system.systemActorOf(
          Behaviors.supervise(QueueReplica.create()).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
          "ferry-job-queue-replica", Props.empty());
      String holder = cluster.selfMember().address().hostPort() + "#" + Long.toHexString(cluster.selfMember().uniqueAddress().longUid());
      TaskWorker.Settings ws = new TaskWorker.Settings(new PoolId(site.get().name()), holder, c.getInt("slots-min"), c.getInt("slots-max"),
          c.getDuration("worker-tick"), askTimeout);
      system.systemActorOf(
          Behaviors.supervise(TaskWorker.create(queue, ws, runners::get)).onFailure(SupervisorStrategy.restart()),
          "ferry-task-worker", Props.empty());
    }
  }

  /** Adds a kind; register the same runners on every member before the first job that uses them. */
  public void register(TaskRunner runner) {
    if (runners.putIfAbsent(runner.kind().name(), runner) != null) {
      throw new IllegalArgumentException("a runner for task kind '" + runner.kind().name() + "' is registered already");
    }
  }

  private TaskKinds kinds() {
    List<TaskKind> extra = runners.values().stream().map(TaskRunner::kind)
        .filter(k -> !TaskKinds.builtIn().names().contains(k.name())).toList();
    return TaskKinds.create(extra);
  }

  public int replicas() {
    return replicas;
  }

  public CompletionStage<JobAccepted> submit(JobSpec job, int replicaCount) {
    return ask(r -> new JobQueueHost.SubmitJob(job, replicaCount, r)).thenApply(a -> {
      if (a instanceof JobQueueHost.Submitted s) {
        return new JobAccepted(s.job().value(), s.created(), s.tasks(), replicaCount);
      }
      throw new FerryException(((JobQueueHost.Refused) a).reason());
    });
  }

  public CompletionStage<JobCancelled> cancel(JobId job) {
    return ask(r -> new JobQueueHost.CancelJob(job, r)).thenApply(a -> {
      if (a instanceof JobQueueHost.Cancelled c) {
        return new JobCancelled(c.job().value(), c.tasks());
      }
      throw new FerryException(((JobQueueHost.Refused) a).reason());
    });
  }

  public CompletionStage<List<JobStatus>> jobs(Optional<JobId> job) {
    return AskPattern.<JobQueueHost.Command, JobQueueHost.Jobs>ask(queue, r -> new JobQueueHost.GetJobs(job, r), askTimeout, system.scheduler())
        .thenApply(j -> j.jobs().stream().map(JobService::status).toList());
  }

  public CompletionStage<JobQueueHost.StatsReply> stats() {
    return AskPattern.ask(queue, JobQueueHost.GetStats::new, askTimeout, system.scheduler());
  }

  private CompletionStage<JobQueueHost.Answer> ask(java.util.function.Function<ActorRef<JobQueueHost.Answer>, JobQueueHost.Command> msg) {
    return AskPattern.ask(queue, msg::apply, askTimeout, system.scheduler());
  }

  static JobStatus status(JobView v) {
    return new JobStatus(v.id().value(), v.state().name().toLowerCase(java.util.Locale.ROOT), v.done(), v.running(), v.queued(), v.failed(), v.cancelled(),
        v.submittedAtMillis(), v.etaMillis(), v.tasks().stream().map(JobService::status).toList());
  }

  static TaskStatus status(TaskView t) {
    Map<String, Integer> attempts = new TreeMap<>();
    t.attempts().forEach((p, n) -> attempts.put(p.value(), n));
    return new TaskStatus(t.id().toString(), t.kind(), t.state().name().toLowerCase(java.util.Locale.ROOT), t.pool().map(PoolId::value), attempts,
        t.leaseHolder(), t.leaseExpiresAtMillis(), t.outcome(), t.reason(), t.output());
  }
}
