package io.ferry.simulator.chaos;

import com.typesafe.config.ConfigFactory;
import io.ferry.api.Deployment;
import io.ferry.api.SinkRows;
import io.ferry.api.NodeStatus;
import io.ferry.testkit.SampleQuery;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeId;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.node.NodeLifecycle;
import io.ferry.runtime.FerryNode;
import io.ferry.runtime.LocalCluster;
import io.ferry.simulator.report.RunReport;
import io.ferry.testkit.SampleQuery;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One real-stack chaos run: real members (one ActorSystem each, loopback, shared H2 journal) run
 * the sample query while a fault schedule drawn from the seed crashes members (replaced at their
 * site) and moves nodes between sites. The schedule replays from the seed; interleavings may
 * differ. Collects what the checkers need: sink rows, node instance intervals, the time of the
 * last fault and of the pipeline's end.
 */
public final class ChaosRun {

  /** Nodes a move may pick, and the sites each may go to (PII stays at the edge). */
  private static final Map<String, List<String>> MOVABLE =
      Map.of(
          "window-a", List.of("cloud", "edge-a", "edge-b"),
          "window-b", List.of("cloud", "edge-a", "edge-b"),
          SampleQuery.SINK, List.of("cloud", "edge-a", "edge-b"));

  /** Everything the run observed, for the checkers and the report. */
  public record Observed(
      QueryGraph graph,
      Path archive,
      List<Row> sinkRows,
      boolean finished,
      long lastFaultMillis,
      long finishedMillis,
      List<NodeLifecycle.Change> lifecycle,
      List<RunReport.Event> faults,
      List<RunReport.Event> operations,
      List<Long> migrationPausesMillis,
      List<RunReport.Point> throughput,
      Map<String, Double> probabilities,
      long durationMillis,
      long blockReads,
      long blockWrites,
      List<io.ferry.simulator.check.BlockIntegrityCheck.ReadMismatch> blockMismatches,
      Map<String, io.ferry.simulator.check.BlockIntegrityCheck.FinalState> volumes,
      Map<String, Long> volumesCopiedAtMillis,
      Map<String, Long> bytesPerLink) {}

  /** A planned fault: what, and when after the start. */
  record Planned(long atMillis, String kind, String target) {}

  private ChaosRun() {}

  /** The seeded fault schedule: counts drawn 0..2x the scenario's, times spread over the fault window. */
  static List<Planned> schedule(Scenario s, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<Planned> plan = new ArrayList<>();
    long window = s.faultWindow().toMillis();
    for (Map.Entry<String, Integer> f : s.faults().entrySet()) {
      int n = f.getValue() == 0 ? 0 : r.nextInt(2 * f.getValue() + 1);
      for (int i = 0; i < n; i++) {
        long at = 1_000 + r.nextLong(Math.max(1, window));
        String target =
            switch (f.getKey()) {
              case "migration" -> pick(r, new ArrayList<>(new java.util.TreeSet<>(MOVABLE.keySet())));
              case "frontend-crash" -> "frontend";
              case "backend-crash" -> "backend";
              // a site, and how long it stays cut off (1-4 s: below the split-brain resolver's
              // stable-after, so the partition heals without anyone being downed)
              case "site-partition" -> pick(r, new ArrayList<>(new java.util.TreeSet<>(s.sites().keySet()))) + "/" + (1_000 + r.nextInt(3_001));
              default -> pick(r, List.of("window-a", "window-b", SampleQuery.SINK, "src-a", "src-b"));
            };
        plan.add(new Planned(at, f.getKey(), target));
      }
    }
    plan.sort((a, b) -> Long.compare(a.atMillis(), b.atMillis()));
    return plan;
  }

  private static String pick(SplittableRandom r, List<String> from) {
    return from.get(r.nextInt(from.size()));
  }

  public static Observed run(Scenario s, long seed, Path dir) throws Exception {
    SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
    List<Planned> plan = schedule(s, seed);
    Path archive = dir.resolve("archive.jsonl");
    QueryGraph graph = s.hasQuery() ? SampleQuery.graph("chaos", s.recordsPerSource(), s.ratePerSource(), archive) : null;
    Map<String, String> sites = new LinkedHashMap<>();
    s.sites().forEach((site, def) -> sites.put(site, def.tier()));
    List<NodeLifecycle.Change> lifecycle = Collections.synchronizedList(new ArrayList<>());
    List<RunReport.Event> faults = new ArrayList<>();
    List<RunReport.Event> operations = Collections.synchronizedList(new ArrayList<>());
    List<Long> pauses = Collections.synchronizedList(new ArrayList<>());
    List<RunReport.Point> throughput = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    Map<String, Double> probabilities = new LinkedHashMap<>();
    s.faults().forEach((k, v) -> probabilities.put(k + " (planned)", (double) plan.stream().filter(p -> p.kind().equals(k)).count()));
    StringBuilder overrides = new StringBuilder("pekko.loglevel = WARNING\n");
    if (!s.link().equals(Scenario.Link.NONE)) {
      overrides.append("ferry.blocks.emulate { one-way-delay = ").append(s.link().oneWayDelay().toMillis()).append("ms, bandwidth = \"")
          .append(s.link().bandwidth()).append("\", loss = ").append(s.link().loss()).append(" }\n");
      overrides.append("ferry.blocks.link { rtt = ").append(Math.max(1, 2 * s.link().oneWayDelay().toMillis())).append("ms }\n");
      if (!s.link().bandwidth().equals("0")) {
        overrides.append("ferry.blocks.link.bandwidth = \"").append(s.link().bandwidth()).append("\"\n");
      }
    }
    overrides.append("ferry.blocks.background.stall-timeout = 3s\n");
    // Write-back ships within the run's few seconds of faults, not after the default 30 s RPO.
    overrides.append("ferry.blocks.changes.rpo = 2s\n");
    if (s.faults().getOrDefault("site-partition", 0) > 0) {
      overrides.append("pekko.remote.artery.advanced.test-mode = on\n");
    }
    try (AutoCloseable listening = NodeLifecycle.listen(lifecycle::add);
        LocalCluster cluster = LocalCluster.start(dir.resolve("data"), sites, ConfigFactory.parseString(overrides.toString()), Duration.ofSeconds(60));
        BlockWorkload blocks = s.volumes().count() == 0 ? null : new BlockWorkload(cluster, s.volumes(), seed, System.currentTimeMillis(), operations)) {
      for (Map.Entry<String, Scenario.Site> e : s.sites().entrySet()) {
        for (int i = 1; i < e.getValue().members(); i++) {
          cluster.startMember(e.getKey(), e.getValue().tier());
        }
      }
      cluster.awaitAllUp(Duration.ofSeconds(60));
      long start = System.currentTimeMillis();
      Deployment d = null;
      if (s.hasQuery()) {
        d = cluster.any().ferry().deploy(graph, SampleQuery.placement(true)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        operations.add(new RunReport.Event(0, "deploy", "query chaos on " + d.members()));
      }
      if (blocks != null) {
        blocks.start(dir);
      }
      List<CompletableFuture<?>> moves = new ArrayList<>();
      long after = 0;
      boolean finished = false;
      int next = 0;
      long lastFault = 0;
      long lastPoint = 0;
      long deadline = start + s.faultWindow().toMillis() + 1_000 + s.livenessBound().toMillis();
      // Heals run on their own timer: the loop below may block on a cut-off member for seconds,
      // and a partition held past the split-brain resolver's stable-after would down members.
      Map<String, Long> heals = new java.util.concurrent.ConcurrentHashMap<>();
      java.util.concurrent.atomic.AtomicLong lastHeal = new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.ScheduledExecutorService healer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
      while (System.currentTimeMillis() < deadline) {
        long now = System.currentTimeMillis() - start;
        while (next < plan.size() && plan.get(next).atMillis() <= now) {
          Planned p = plan.get(next++);
          lastFault = now;
          if (p.kind().equals("site-partition")) {
            partition(cluster, p, now, heals, faults, operations, healer, lastHeal, start);
            continue;
          }
          inject(cluster, d, blocks, p, r, now, faults, operations, pauses, moves, start);
        }
        if (d == null) {
          // Blocks only: the faults are over once the window has passed and the plan is done.
          if (next >= plan.size() && heals.isEmpty() && now > s.faultWindow().toMillis() + 1_000) {
            finished = true;
            break;
          }
          TimeUnit.MILLISECONDS.sleep(20);
          continue;
        }
        SinkRows batch = read(cluster, d, after);
        if (batch != null) {
          rows.addAll(batch.rows());
          after = batch.next();
          if (batch.done() && next >= plan.size() && heals.isEmpty()) {
            finished = true;
            break;
          }
        }
        if (now - lastPoint >= 500) {
          lastPoint = now;
          throughput.add(new RunReport.Point(now, rows.size()));
        }
        if (batch == null || batch.rows().isEmpty()) {
          TimeUnit.MILLISECONDS.sleep(20);
        }
      }
      healer.shutdown();
      healer.awaitTermination(10, TimeUnit.SECONDS);
      lastFault = Math.max(lastFault, lastHeal.get());
      long finishedAt = System.currentTimeMillis() - start;
      throughput.add(new RunReport.Point(finishedAt, rows.size()));
      for (CompletableFuture<?> m : moves) {
        try {
          m.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          // recorded by the move itself
        }
      }
      if (finished && d != null) {
        awaitArchive(cluster, d);
      }
      Map<String, io.ferry.simulator.check.BlockIntegrityCheck.FinalState> volumes = new LinkedHashMap<>();
      Map<String, Long> copiedAt = new LinkedHashMap<>();
      Map<String, Long> bytesPerLink = new LinkedHashMap<>();
      List<io.ferry.simulator.check.BlockIntegrityCheck.ReadMismatch> mismatches = List.of();
      long blockReads = 0;
      long blockWrites = 0;
      if (blocks != null) {
        long remaining = Math.max(1_000, start + s.faultWindow().toMillis() + 1_000 + s.livenessBound().toMillis() - System.currentTimeMillis());
        volumes.putAll(blocks.finish(Duration.ofMillis(remaining)));
        copiedAt.putAll(blocks.copiedAtMillis());
        bytesPerLink.putAll(blocks.bytesPerLink());
        mismatches = blocks.mismatches();
        blockReads = blocks.reads();
        blockWrites = blocks.writes();
      }
      return new Observed(graph, archive, rows, finished, lastFault, finishedAt, new ArrayList<>(lifecycle), faults,
          new ArrayList<>(operations), new ArrayList<>(pauses), throughput, probabilities, System.currentTimeMillis() - start,
          blockReads, blockWrites, mismatches, volumes, copiedAt, bytesPerLink);
    }
  }

  /** Cuts a site off (Artery blackholes both ways, block links lose every datagram) and schedules its heal. */
  private static void partition(
      LocalCluster cluster, Planned p, long now, Map<String, Long> heals, List<RunReport.Event> faults, List<RunReport.Event> operations,
      java.util.concurrent.ScheduledExecutorService healer, java.util.concurrent.atomic.AtomicLong lastHeal, long start) {
    String site = p.target().substring(0, p.target().indexOf('/'));
    long millis = Long.parseLong(p.target().substring(p.target().indexOf('/') + 1));
    if (!heals.isEmpty() || !settled(cluster)) {
      faults.add(new RunReport.Event(now, "site-partition-skipped", site + ": an earlier fault is still being resolved"));
      return;
    }
    io.ferry.runtime.SitePartitions.set(cluster, site, true);
    heals.put(site, now + millis);
    faults.add(new RunReport.Event(now, "site-partition", site + " cut off for " + millis + " ms"));
    healer.schedule(
        () -> {
          io.ferry.runtime.SitePartitions.set(cluster, site, false);
          long at = System.currentTimeMillis() - start;
          lastHeal.set(at);
          operations.add(new RunReport.Event(at, "site-heal", site));
          heals.remove(site);
        },
        millis,
        TimeUnit.MILLISECONDS);
  }

  private static void inject(
      LocalCluster cluster, Deployment d, BlockWorkload blocks, Planned p, SplittableRandom r, long now, List<RunReport.Event> faults,
      List<RunReport.Event> operations, List<Long> pauses, List<CompletableFuture<?>> moves, long start) throws Exception {
    if (p.kind().equals("migration")) {
      List<String> sites = MOVABLE.get(p.target());
      String to = sites.get(r.nextInt(sites.size()));
      faults.add(new RunReport.Event(now, "migration", p.target() + " -> " + to));
      moves.add(
          cluster.any().ferry().migrate(MigrationInstruction.of(d.query().value(), List.of(p.target()), to))
              .toCompletableFuture()
              .whenComplete(
                  (rep, e) -> {
                    long at = System.currentTimeMillis() - start;
                    if (e != null) {
                      operations.add(new RunReport.Event(at, "migration-refused", p.target() + " -> " + to + ": " + rootMessage(e)));
                    } else {
                      operations.add(new RunReport.Event(at, "migration-" + rep.outcome().name().toLowerCase(), p.target() + " -> " + to + " in " + rep.pauseMillis() + " ms"));
                      if (rep.outcome().equals(MigrationReport.Outcome.COMPLETED)) {
                        pauses.add(rep.pauseMillis());
                      }
                    }
                  }));
      return;
    }
    // member-crash: the member hosting the target node (or a volume's frontend or backend) dies
    // without leaving; a replacement starts at its site.
    String address;
    if (p.kind().equals("frontend-crash") || p.kind().equals("backend-crash")) {
      try {
        address = blocks.memberOf(p.target());
      } catch (Exception e) {
        faults.add(new RunReport.Event(now, p.kind() + "-skipped", p.target() + ": " + e.getMessage()));
        return;
      }
    } else {
      try {
        address = cluster.any().ferry().queries().toCompletableFuture().get(10, TimeUnit.SECONDS).get(0).members().get(p.target());
      } catch (Exception e) {
        faults.add(new RunReport.Event(now, p.kind() + "-skipped", p.target() + ": placement unknown (" + rootMessage(e) + ")"));
        return;
      }
    }
    // One crash at a time: with a crashed member not yet removed, a second crash could leave no
    // majority. Every live member must see exactly the live members, all Up and reachable (a
    // count alone let two crashes through in one instant: found by seed 10 of mixed-blocks).
    if (address == null || cluster.live().size() < 3 || !settled(cluster)) {
      faults.add(new RunReport.Event(now, p.kind() + "-skipped", p.target() + (address == null ? ": not placed" : ": an earlier crash is still being resolved")));
      return;
    }
    FerryNode victim = cluster.memberAt(address);
    faults.add(new RunReport.Event(now, p.kind(), victim.settings().site() + " " + address + " (hosts " + p.target() + ")"));
    victim.crash();
    FerryNode replacement = cluster.startMember(victim.settings().site(), victim.settings().tier());
    operations.add(new RunReport.Event(System.currentTimeMillis() - start, "member-start", victim.settings().site() + " " + replacement.address()));
  }

  /** True when every live member's view is exactly the live members, all Up, none unreachable. */
  static boolean settled(LocalCluster cluster) {
    java.util.Set<String> live = new java.util.TreeSet<>();
    cluster.live().forEach(n -> live.add(n.address()));
    for (FerryNode n : cluster.live()) {
      var state = org.apache.pekko.cluster.typed.Cluster.get(n.system()).state();
      java.util.Set<String> seen = new java.util.TreeSet<>();
      for (org.apache.pekko.cluster.Member m : state.getMembers()) {
        if (m.status() != org.apache.pekko.cluster.MemberStatus.up()) {
          return false;
        }
        seen.add(m.address().toString());
      }
      if (!state.getUnreachable().isEmpty() || !seen.equals(live)) {
        return false;
      }
    }
    return true;
  }

  private static SinkRows read(LocalCluster cluster, Deployment d, long after) {
    for (FerryNode via : cluster.live()) {
      try {
        return via.ferry().read(d.query(), new NodeId(SampleQuery.SINK), after, 5000).toCompletableFuture().get(3, TimeUnit.SECONDS);
      } catch (Exception e) {
        // moving, or that member is going away: try another
      }
    }
    return null;
  }

  private static void awaitArchive(LocalCluster cluster, Deployment d) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        NodeStatus s = cluster.any().ferry().nodeStatus(d.query(), new NodeId(SampleQuery.ARCHIVE)).toCompletableFuture().get(5, TimeUnit.SECONDS);
        if (s.done()) {
          return;
        }
      } catch (Exception e) {
        // moving: ask again
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage();
  }
}
