package io.ferry.simulator.cli;

import io.ferry.simulator.chaos.ChaosReport;
import io.ferry.simulator.chaos.ChaosRun;
import io.ferry.simulator.chaos.Scenario;
import io.ferry.simulator.protocol.ProtocolSimulation;
import io.ferry.simulator.report.ReportWriter;
import io.ferry.simulator.report.RunReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ferry simulate}: one seeded run or K of them, each with a JSON and an HTML report; a
 * failing run prints its seed and the exact command that replays it.
 *
 * <pre>
 * ferry simulate --tier deterministic --seed N [--runs K] [--no-dedup] [--out DIR]
 * ferry simulate --scenario config/scenarios/mixed-chaos.conf --seed N [--runs K] [--out DIR]
 * </pre>
 */
public final class Simulate {

  private Simulate() {}

  public static void main(String[] args) {
    int code;
    try {
      code = run(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("ferry simulate: " + e.getMessage());
      code = 2;
    } catch (Exception e) {
      System.err.println("ferry simulate: " + e);
      e.printStackTrace(System.err);
      code = 1;
    }
    System.exit(code);
  }

  static int run(List<String> args) throws Exception {
    String tier = null;
    Path scenarioFile = null;
    Long seed = null;
    int runs = 1;
    boolean dedup = true;
    Path out = Path.of(".ferry", "simulations");
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      switch (a) {
        case "--tier" -> tier = value(args, ++i, a);
        case "--scenario" -> scenarioFile = Path.of(value(args, ++i, a));
        case "--seed" -> seed = number(value(args, ++i, a), a);
        case "--runs" -> runs = (int) Math.max(1, Math.min(100_000, number(value(args, ++i, a), a)));
        case "--no-dedup" -> dedup = false;
        case "--out" -> out = Path.of(value(args, ++i, a));
        default -> throw new IllegalArgumentException("unknown option '" + a + "'; see ./ferry help");
      }
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
      if (tier.equals("deterministic")) {
        r = ProtocolSimulation.run(s, ProtocolSimulation.Options.defaults().withDedup(dedup));
      } else {
        Path dir = Files.createTempDirectory("ferry-chaos-" + s + "-");
        r = ChaosReport.of(scenario, scenarioFile, s, ChaosRun.run(scenario, s, dir));
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

  private static String value(List<String> args, int i, String opt) {
    if (i >= args.size()) {
      throw new IllegalArgumentException(opt + " needs a value");
    }
    return args.get(i);
  }

  private static long number(String v, String opt) {
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(opt + " takes a number, got '" + v + "'");
    }
  }
}
