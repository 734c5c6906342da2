package io.ferry.cli;

import io.ferry.simulator.chaos.ChaosReport;
import io.ferry.simulator.chaos.ChaosRun;
import io.ferry.simulator.chaos.Scenario;
import io.ferry.simulator.jobs.JobsSimulation;
import io.ferry.simulator.protocol.ProtocolSimulation;
import io.ferry.simulator.report.ReportWriter;
import io.ferry.simulator.report.RunReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry simulate}: one seeded run or K of them, each with a JSON and an HTML report; a
 * failing run prints its seed and the exact command that replays it.
 */
@Command(
    name = "simulate",
    description = {
      "Runs seeded simulations with invariant checkers and writes their reports.",
      "  ferry simulate --tier deterministic --seed N [--runs K] [--no-dedup] [--out DIR]",
      "  ferry simulate --tier deterministic --workload jobs --seed N [--runs K] [--out DIR]",
      "  ferry simulate --scenario config/scenarios/mixed-chaos.conf --seed N [--runs K] [--keep] [--out DIR]",
      "Each run writes a JSON and an HTML report; a failing run prints its seed and the command that replays it.",
      "A real-stack run's member files (journal, block stores, archive) go to a ferry-chaos-SEED-* directory under",
      "the system's temporary directory and are deleted after the run unless --keep asks to keep them."
    })
final class Simulate implements Callable<Integer> {

  private static final int RUNS_MAX = 100_000;

  @Option(names = "--tier", paramLabel = "TIER", description = "deterministic (the move protocol on a simulated network, clock and journal) or real-stack (a cluster with a fault schedule); default: real-stack with --scenario, else deterministic")
  String tier;

  @Option(names = "--scenario", paramLabel = "FILE", description = "a real-stack scenario (config/scenarios/)")
  Path scenarioFile;

  @Option(names = "--seed", paramLabel = "N", description = "the first run's seed (default: a fresh one, printed)")
  Long seed;

  @Option(names = "--runs", paramLabel = "K", description = "runs with seeds N, N+1, ... (1 to " + RUNS_MAX + ", default ${DEFAULT-VALUE})")
  int runs = 1;

  @Option(names = "--workload", paramLabel = "NAME", description = "deterministic tier: sample-query (moves of a streaming query, the default) or jobs (a replicated job queue and pools of workers under crashes, pool loss and partitions)")
  String workload = "sample-query";

  @Option(names = "--no-dedup", description = "deterministic tier: turn the nodes' duplicate filter off (the once-only checker must then fail)")
  boolean noDedup;

  @Option(names = "--keep", description = "real-stack tier: keep each run's member files (journal, block stores, archive) and print where they are")
  boolean keep;

  @Option(names = "--out", paramLabel = "DIR", description = "where the reports go (default ${DEFAULT-VALUE})")
  Path out = Path.of(".ferry", "simulations");

  @Override
  public Integer call() throws Exception {
    boolean dedup = !noDedup;
    if (runs < 1 || runs > RUNS_MAX) {
      throw new IllegalArgumentException("--runs must be between 1 and " + RUNS_MAX + ", got " + runs);
    }
    if (tier == null) {
      tier = scenarioFile != null ? "real-stack" : "deterministic";
    }
    if (!tier.equals("deterministic") && !tier.equals("real-stack")) {
      throw new IllegalArgumentException("--tier must be deterministic or real-stack, got " + tier);
    }
    if (tier.equals("real-stack") && scenarioFile == null) {
      throw new IllegalArgumentException("a real-stack run needs --scenario FILE (see config/scenarios/)");
    }
    // Each flag belongs to one tier; silently ignoring it would report a run that is not the one asked for.
    if (tier.equals("real-stack") && noDedup) {
      throw new IllegalArgumentException("--no-dedup is for the deterministic tier only: a real-stack run always keeps the nodes' duplicate filter");
    }
    if (tier.equals("deterministic") && keep) {
      throw new IllegalArgumentException("--keep is for the real-stack tier only: a deterministic run writes no member files");
    }
    if (!workload.equals("sample-query") && !workload.equals(JobsSimulation.SCENARIO)) {
      throw new IllegalArgumentException("--workload must be sample-query or jobs, got " + workload);
    }
    if (workload.equals(JobsSimulation.SCENARIO) && (!tier.equals("deterministic") || noDedup)) {
      throw new IllegalArgumentException("--workload jobs runs in the deterministic tier only and has no dedup to turn off");
    }
    if (seed == null) {
      seed = System.nanoTime() & 0xffff_ffffL;
    }
    Files.createDirectories(out);
    Scenario scenario = scenarioFile == null ? null : Scenario.load(scenarioFile);
    List<RunReport> reports = new ArrayList<>();
    int failed = 0;
    for (int k = 0; k < runs; k++) {
      long s = seed + k;
      RunReport r;
      if (workload.equals(JobsSimulation.SCENARIO)) {
        r = JobsSimulation.run(s, JobsSimulation.Options.defaults());
      } else if (tier.equals("deterministic")) {
        r = ProtocolSimulation.run(s, ProtocolSimulation.Options.defaults().withDedup(dedup));
      } else {
        Path dir = Files.createTempDirectory("ferry-chaos-" + s + "-");
        try {
          r = ChaosReport.of(scenario, scenarioFile, s, ChaosRun.run(scenario, s, dir));
        } finally {
          if (keep) {
            System.out.printf("seed %d: member files kept in %s%n", s, dir.toAbsolutePath());
          } else {
            deleteTree(dir);
          }
        }
      }
      reports.add(r);
      ReportWriter.Written w = ReportWriter.write(r, out);
      if (r.ok()) {
        System.out.printf("seed %d: PASS (%d faults) %s%n", s, r.faults().size(), w.html());
      } else {
        failed++;
        System.out.printf("seed %d: FAIL %s%n  replay: %s%n  report: %s%n", s,
            r.checkers().stream().filter(v -> !v.ok()).map(v -> v.checker() + ": " + v.detail()).toList(),
            r.replay(), w.html());
      }
    }
    if (runs > 1) {
      ReportWriter.Written summary = ReportWriter.summary(reports, out);
      System.out.printf("%d runs, %d failed; summary %s%n", runs, failed, summary.html());
    }
    return failed == 0 ? 0 : 1;
  }

  /** Deletes a run's directory, deepest entries first; a file that cannot be deleted is named, not hidden. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
