package io.ferry.simulator.chaos;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.simulator.report.ReportWriter;
import io.ferry.simulator.report.RunReport;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Short real-stack chaos runs: real members on loopback, the sample query and volume migrations
 * (over an emulated WAN), seeded moves, crashes of query members, frontends and backends, and site
 * partitions. Every checker must pass; each run writes its JSON and HTML report under
 * target/simulations. The runs take seeds N, N+1, ... from SeedExtension's seed: a fresh base each
 * time, printed with its {@code -Dferry.seed} when the test fails (which replays the whole sweep);
 * each failing run also prints the {@code ferry simulate} command that replays it alone.
 * {@code -Dferry.chaos.runs=K} (the soak profile raises it) sets how many.
 */
@ExtendWith(SeedExtension.class)
class ChaosIT {

  @Test
  void seededChaosRunsKeepEveryInvariant(Seed base) throws Exception {
    int runs = Integer.getInteger("ferry.chaos.runs", 5);
    // Non-negative and 32-bit like the seeds ferry simulate draws, so every replay command reads plainly;
    // the same -Dferry.seed always gives the same base.
    long first = base.value() & 0xffff_ffffL;
    Path out = Path.of("target", "simulations");
    Files.createDirectories(out);
    Path root = Path.of("..", "config", "scenarios");
    List<Path> scenarios =
        List.of(
            root.resolve("edge-cloud-moves.conf"),
            root.resolve("mixed-chaos.conf"),
            root.resolve("block-migration.conf"),
            root.resolve("mixed-blocks.conf"),
            root.resolve("site-partitions.conf"));
    List<RunReport> reports = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    for (int k = 0; k < runs; k++) {
      long seed = first + k;
      Path file = scenarios.get(k % scenarios.size());
      Scenario s = Scenario.load(file);
      System.out.println("chaos run seed=" + seed + " scenario=" + s.name() + " plan=" + ChaosRun.schedule(s, seed));
      // The replay command runs from the repository root.
      Path asGiven = Path.of("config", "scenarios", file.getFileName().toString());
      RunReport r = ChaosReport.of(s, asGiven, seed, ChaosRun.run(s, seed, Files.createTempDirectory("chaos-" + seed)));
      reports.add(r);
      ReportWriter.Written w = ReportWriter.write(r, out);
      System.out.println("  " + (r.ok() ? "PASS" : "FAIL") + " faults=" + r.faults().size() + " pauses=" + r.migrationPausesMillis()
          + " report " + w.html() + (r.ok() ? "" : "\n  replay: " + r.replay() + "\n  " + r.checkers()));
      if (!r.ok()) {
        failures.add("seed " + seed + " (" + r.replay() + "): " + r.checkers());
      }
    }
    ReportWriter.summary(reports, out);
    assertTrue(reports.stream().mapToInt(r -> r.faults().size()).sum() > 0, "the runs injected no faults: they prove nothing");
    assertTrue(failures.isEmpty(), "chaos runs failed: " + failures);
  }
}
