package io.ferry.simulator.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The block-end-of-life scenario (write-back through frontend and backend crashes, then cut-over
 * and reverse; the source must hold every acknowledged write): {@code -Dferry.chaos.endOfLife=true},
 * {@code -Dferry.chaos.runs=K} seeds (default 2). About a minute a run on two loaded cores.
 */
@ExtendWith(SeedExtension.class)
@EnabledIfSystemProperty(named = "ferry.chaos.endOfLife", matches = "true")
class BlockEndOfLifeChaosIT {

  @Test
  void theSourceHoldsEveryAcknowledgedWriteAfterTheReverse(Seed base) throws Exception {
    Path file = Path.of("..", "config", "scenarios", "block-end-of-life.conf");
    Scenario s = Scenario.load(file);
    assertEquals("write-back", s.volumes().writePolicy());
    assertEquals("reverse", s.volumes().end());
    int runs = Integer.getInteger("ferry.chaos.runs", 2);
    long first = base.value() & 0xffff_ffffL;
    Path out = Path.of("target", "simulations");
    Files.createDirectories(out);
    List<String> failures = new ArrayList<>();
    for (int k = 0; k < runs; k++) {
      long seed = first + k;
      RunReport r = ChaosReport.of(s, Path.of("config", "scenarios", "block-end-of-life.conf"), seed, ChaosRun.run(s, seed, Files.createTempDirectory("chaos-eol-" + seed)));
      ReportWriter.Written w = ReportWriter.write(r, out);
      System.out.println("block-end-of-life seed=" + seed + " " + (r.ok() ? "PASS" : "FAIL") + " faults=" + r.faults().size() + " report " + w.html()
          + "\n  " + r.checkers());
      if (!r.ok()) {
        failures.add("seed " + seed + " (" + r.replay() + "): " + r.checkers());
      }
    }
    assertTrue(failures.isEmpty(), "runs failed: " + failures);
  }
}
