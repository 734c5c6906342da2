package io.ferry.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.placement.Site;
import io.ferry.placement.Tier;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobQueueTest {
  static final PoolId A = new PoolId("edge-a");
  static final PoolId B = new PoolId("edge-b");
  static final PoolId C = new PoolId("cloud");
  static final List<PoolSpec> POOLS = List.of(
      new PoolSpec(A, Site.of("edge-a"), Tier.EDGE, 1, 4),
      new PoolSpec(B, Site.of("edge-b"), Tier.EDGE, 1, 4),
      new PoolSpec(C, Site.of("cloud"), Tier.CLOUD, 1, 8));
  static final Duration LEASE = Duration.ofSeconds(10);

  static TaskSpec cmd(String name, int retries) {
    return TaskSpec.of(name, "command", Map.of("command", "true"), retries, LEASE);
  }

  static JobQueue queue() {
    return JobQueue.create(TaskKinds.builtIn(), POOLS);
  }

  static JobSpec job(String id, TaskSpec... tasks) {
    return new JobSpec(new JobId(id), List.of(tasks));
  }

  @Test
  void aLeasedTaskSucceedsOnce() {
    JobQueue q = queue();
    assertTrue(q.submit(job("j", cmd("t1", 2)), 0));
    List<Lease> got = q.lease(A, "w1", 5, 100);
    assertEquals(1, got.size());
    Lease l = got.get(0);
    assertEquals(100 + LEASE.toMillis(), l.expiresAtMillis());
    assertTrue(q.lease(B, "w2", 5, 100).isEmpty(), "a leased task is not leased again");
    assertEquals(new JobQueue.CompleteResult.Accepted(TaskState.SUCCEEDED), q.complete(l.task(), l.epoch(), new Outcome.Succeeded("ok"), 200));
    JobView v = q.job(new JobId("j"), 300).orElseThrow();
    assertEquals(JobView.JobState.SUCCEEDED, v.state());
    assertEquals(1, v.done());
    assertEquals(Map.of(A, 1), v.tasks().get(0).attempts());
    assertInstanceOf(JobQueue.CompleteResult.Refused.class, q.complete(l.task(), l.epoch(), new Outcome.Succeeded("again"), 300));
  }

  @Test
  void aBatchEventAppliesItsOperationsInOrderLikeSingleEvents() {
    List<QueueOp> ops = List.of(
        new QueueOp.Submit(job("j", cmd("t1", 2), cmd("t2", 2)), 0),
        new QueueOp.LeaseTasks(A, "w1", 1, 10),
        new QueueOp.Complete(TaskId.parse("j/t1"), 1, new Outcome.Succeeded("ok"), 20),
        new QueueOp.LeaseTasks(A, "w1", 1, 30));
    JobQueue single = queue();
    List<Object> each = ops.stream().map(op -> op.applyTo(single)).toList();
    JobQueue batched = queue();
    assertEquals(each, new QueueOp.Batch(ops, 30).applyTo(batched));
    assertEquals(single.job(new JobId("j"), 40), batched.job(new JobId("j"), 40));
    assertEquals(single.stats(), batched.stats());
    assertThrows(IllegalArgumentException.class, () -> new QueueOp.Batch(List.of(), 0));
    assertThrows(IllegalArgumentException.class, () -> new QueueOp.Batch(List.of(new QueueOp.Batch(ops, 0)), 0), "no nested batches");
  }

  @Test
  void renewalIsAHeartbeatAndExpiryReturnsTheTask() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t1", 3)), 0);
    Lease l = q.lease(A, "w1", 1, 0).get(0);
    var r = q.renew(l.task(), l.epoch(), 9_000);
    assertEquals(19_000, ((JobQueue.RenewResult.Renewed) r).lease().expiresAtMillis());
    assertTrue(q.expire(18_999).isEmpty());
    assertEquals(List.of(l.task()), q.expire(19_000));
    TaskView t = q.task(l.task()).orElseThrow();
    assertEquals(TaskState.QUEUED, t.state());
    assertTrue(t.reason().orElseThrow().contains("lease expired"), t.reason().toString());
    // The dead holder's renewal and result are refused; another pool may take the task at once.
    assertInstanceOf(JobQueue.RenewResult.Lost.class, q.renew(l.task(), l.epoch(), 19_001));
    Lease l2 = q.lease(B, "w2", 1, 19_001).get(0);
    assertEquals(l.epoch() + 1, l2.epoch());
    assertInstanceOf(JobQueue.CompleteResult.Refused.class, q.complete(l.task(), l.epoch(), new Outcome.Succeeded("late"), 19_002));
    assertEquals(Map.of(A, 1, B, 1), q.task(l.task()).orElseThrow().attempts());
  }

  @Test
  void failuresRetryOnTheSamePoolThenMoveToAnotherUnderOneBudget() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t", 2).withTier(Tier.EDGE)), 0);
    TaskId id = new TaskId(new JobId("j"), "t");
    Lease l = q.lease(A, "a1", 1, 0).get(0);
    assertEquals(new JobQueue.CompleteResult.Accepted(TaskState.QUEUED), q.complete(id, l.epoch(), new Outcome.Failed("exit 1"), 10));
    assertTrue(q.lease(B, "b1", 1, 20).isEmpty(), "kept for pool A while A has retries left");
    assertTrue(q.lease(B, "b1", 1, 10 + LEASE.toMillis() - 1).isEmpty(), "kept for pool A for one lease duration");
    assertTrue(q.lease(C, "c1", 1, 20).isEmpty(), "the cloud pool does not satisfy tier edge");
    assertEquals(0, q.queuedFor(B));
    assertEquals(1, q.queuedFor(A));
    l = q.lease(A, "a1", 1, 30).get(0);
    q.complete(id, l.epoch(), new Outcome.Failed("exit 1"), 40);
    assertTrue(q.lease(A, "a1", 1, 50).isEmpty(), "pool A spent its retry count");
    l = q.lease(B, "b1", 1, 50).get(0);
    assertEquals(B, l.pool());
    assertEquals(1, q.stats().reassignments());
    q.complete(id, l.epoch(), new Outcome.Failed("exit 2"), 60);
    l = q.lease(B, "b1", 1, 70).get(0);
    q.complete(id, l.epoch(), new Outcome.Failed("exit 3"), 80);
    TaskView t = q.task(id).orElseThrow();
    assertEquals(TaskState.FAILED, t.state());
    assertEquals(Map.of(A, 2, B, 2), t.attempts());
    assertTrue(t.reason().orElseThrow().contains("exit 3") && t.reason().orElseThrow().contains("budget 4"), t.reason().orElseThrow());
    assertEquals(JobView.JobState.FAILED, q.job(new JobId("j"), 90).orElseThrow().state());
    assertEquals(3, q.stats().retries());
  }

  @Test
  void anExplicitBudgetStopsBeforeEveryPoolIsTried() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t", 2).withAttemptBudget(3)), 0);
    TaskId id = new TaskId(new JobId("j"), "t");
    for (PoolId p : List.of(A, A, B)) {
      Lease l = q.lease(p, "w", 1, 0).get(0);
      q.complete(id, l.epoch(), new Outcome.Failed("no"), 0);
    }
    assertEquals(TaskState.FAILED, q.task(id).orElseThrow().state());
    assertTrue(q.lease(C, "w", 1, 0).isEmpty());
  }

  @Test
  void expiryCostsAnAttemptSoATaskThatKillsWorkersEnds() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t", 1).withSite(Site.of("cloud"))), 0);
    Lease l = q.lease(C, "c", 1, 0).get(0);
    assertEquals(List.of(l.task()), q.expire(LEASE.toMillis()));
    TaskView t = q.task(l.task()).orElseThrow();
    assertEquals(TaskState.FAILED, t.state());
    assertTrue(t.reason().orElseThrow().contains("lease expired"), t.reason().orElseThrow());
  }

  @Test
  void aLostPoolReleasesTheTasksKeptForItsRetries() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t", 3)), 0);
    Lease l = q.lease(A, "a", 1, 0).get(0);
    q.complete(l.task(), l.epoch(), new Outcome.Failed("x"), 1);
    assertTrue(q.lease(B, "b", 1, 2).isEmpty());
    q.poolDown(A);
    assertTrue(q.lease(A, "a", 1, 3).isEmpty(), "a lost pool leases nothing");
    assertEquals(1, q.lease(B, "b", 1, 3).size());
  }

  @Test
  void cancelEndsQueuedAndLeasedTasksAndRevokesLeases() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t1", 1), cmd("t2", 1)), 0);
    Lease l = q.lease(A, "a", 1, 0).get(0);
    assertEquals(2, q.cancel(new JobId("j"), 5));
    var r = q.renew(l.task(), l.epoch(), 6);
    assertTrue(((JobQueue.RenewResult.Lost) r).reason().contains("cancelled"));
    JobView v = q.job(new JobId("j"), 7).orElseThrow();
    assertEquals(JobView.JobState.CANCELLED, v.state());
    assertEquals(2, v.cancelled());
    assertTrue(q.leases().isEmpty());
    assertEquals(0, q.queuedTotal());
    assertThrows(IllegalArgumentException.class, () -> q.cancel(new JobId("nope"), 8));
  }

  @Test
  void submitIsIdempotentAndRefusesBadInputClearly() {
    JobQueue q = queue();
    JobSpec j = job("j", cmd("t", 1));
    assertTrue(q.submit(j, 0));
    assertFalse(q.submit(j, 1), "the same job again is not queued twice");
    assertEquals(1, q.queuedTotal());
    var other = assertThrows(IllegalArgumentException.class, () -> q.submit(job("j", cmd("u", 1)), 2));
    assertTrue(other.getMessage().contains("exists"), other.getMessage());
    var unknown = assertThrows(IllegalArgumentException.class,
        () -> q.submit(job("k", TaskSpec.of("t", "rsync", Map.of(), 1, LEASE)), 0));
    assertTrue(unknown.getMessage().contains("unknown kind 'rsync'") && unknown.getMessage().contains("command"), unknown.getMessage());
    var params = assertThrows(IllegalArgumentException.class,
        () -> q.submit(job("k", TaskSpec.of("t", "command", Map.of("command", "x", "timeoutMs", "soon"), 1, LEASE)), 0));
    assertTrue(params.getMessage().contains("timeoutMs"), params.getMessage());
    var vol = assertThrows(IllegalArgumentException.class,
        () -> q.submit(job("k", TaskSpec.of("t", "volume-migration", Map.of("volume", "v1", "sourceSite", "edge-a", "sourcePath", "/x", "targetSite", "edge-a"), 1, LEASE)), 0));
    assertTrue(vol.getMessage().contains("same site"), vol.getMessage());
    var nowhere = assertThrows(IllegalArgumentException.class,
        () -> q.submit(job("k", cmd("t", 1).withSite(Site.of("edge-z"))), 0));
    assertTrue(nowhere.getMessage().contains("no pool satisfies site edge-z"), nowhere.getMessage());
    var mismatch = assertThrows(IllegalArgumentException.class,
        () -> q.submit(job("k", cmd("t", 1).withSite(Site.of("cloud")).withTier(Tier.EDGE)), 0));
    assertTrue(mismatch.getMessage().contains("site cloud and tier edge"), mismatch.getMessage());
    assertEquals(1, q.queuedTotal(), "refused jobs leave nothing behind");
  }

  @Test
  void progressCountsAndEta() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t1", 1), cmd("t2", 1), cmd("t3", 1), cmd("t4", 1)), 1000);
    List<Lease> ls = q.lease(C, "c", 2, 1000);
    q.complete(ls.get(0).task(), ls.get(0).epoch(), new Outcome.Succeeded(""), 2000);
    JobView v = q.job(new JobId("j"), 3000).orElseThrow();
    assertEquals(List.of(1, 1, 2, 0), List.of(v.done(), v.running(), v.queued(), v.failed()));
    assertEquals(6000L, v.etaMillis().orElseThrow(), "one task ended in 2 s, three remain");
    TaskView running = v.tasks().stream().filter(t -> t.state() == TaskState.LEASED).findFirst().orElseThrow();
    assertEquals("c", running.leaseHolder().orElseThrow());
    assertEquals(1000 + LEASE.toMillis(), running.leaseExpiresAtMillis().orElseThrow());
  }

  @Test
  void leaseAndSpecLimitsAreChecked() {
    JobQueue q = queue();
    assertThrows(IllegalArgumentException.class, () -> q.lease(new PoolId("nope"), "w", 1, 0));
    assertThrows(IllegalArgumentException.class, () -> q.lease(A, "w", JobQueue.LEASE_BATCH_MAX + 1, 0));
    assertThrows(IllegalArgumentException.class, () -> cmd("t", 0));
    assertThrows(IllegalArgumentException.class, () -> TaskSpec.of("t", "command", Map.of(), 1, Duration.ofMillis(10)));
    assertThrows(IllegalArgumentException.class, () -> cmd("t", 3).withAttemptBudget(2));
    assertThrows(IllegalArgumentException.class, () -> job("j", cmd("t", 1), cmd("t", 1)));
    assertEquals(new TaskId(new JobId("j"), "t"), TaskId.parse("j/t"));
  }

  @Test
  void volumeMigrationsRunInWavesWithinSiteAndLinkLimits() {
    JobQueue q = JobQueue.create(TaskKinds.builtIn(), POOLS, new JobQueue.Limits(3, 2));
    List<TaskSpec> tasks = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String target = i < 4 ? "cloud" : "edge-b";
      tasks.add(TaskSpec.of("v" + i, "volume-migration",
          Map.of("volume", "vol" + i, "sourceSite", "edge-a", "sourcePath", "/img/" + i, "targetSite", target), 1, LEASE));
    }
    tasks.add(cmd("c", 1));
    q.submit(new JobSpec(new JobId("mass"), tasks), 0);
    List<Lease> first = q.lease(C, "c", 10, 0);
    // edge-a -> cloud: 2 (link limit); edge-a -> edge-b: 1 more (edge-a's site limit of 3); the command is not limited.
    assertEquals(List.of("v0", "v1", "v4", "c"), first.stream().map(l -> l.task().name()).toList());
    assertTrue(q.lease(C, "c", 10, 1).isEmpty());
    q.complete(first.get(0).task(), first.get(0).epoch(), new Outcome.Succeeded(""), 2);
    assertEquals(List.of("v2"), q.lease(C, "c", 10, 3).stream().map(l -> l.task().name()).toList());
  }

  @Test
  void aTakeOverGivesEveryHeldLeaseAFullDurationSoAFinishedAttemptCanStillReport() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t", 1)), 0);
    Lease l = q.lease(A, "a", 1, 0).get(0);
    // The primary was away from 5 s to 30 s; the worker finished at 4 s and could not report.
    q.takeOver(30_000);
    assertEquals(30_000 + LEASE.toMillis(), q.leases().get(0).expiresAtMillis());
    assertEquals(new JobQueue.CompleteResult.Accepted(TaskState.SUCCEEDED), q.complete(l.task(), l.epoch(), new Outcome.Succeeded("done at 4 s"), 30_050));
    assertEquals(Map.of(A, 1), q.task(l.task()).orElseThrow().attempts());
  }

  @Test
  void aRetryKeptForAPoolThatDoesNotTakeItBackGoesToAnotherAfterALeaseDuration() {
    JobQueue q = queue();
    q.submit(job("j", cmd("t", 3)), 0);
    Lease l = q.lease(A, "a", 1, 0).get(0);
    q.complete(l.task(), l.epoch(), new Outcome.Failed("x"), 100);
    assertTrue(q.lease(B, "b", 1, 100 + LEASE.toMillis() - 1).isEmpty());
    Lease b = q.lease(B, "b", 1, 100 + LEASE.toMillis()).get(0);
    assertEquals(B, b.pool());
    assertEquals(0, q.stats().reassignments(), "pool A still had retries: not a reassignment, a lapsed hold");
  }
}
