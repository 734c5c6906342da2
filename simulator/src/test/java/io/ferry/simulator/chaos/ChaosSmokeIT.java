package io.ferry.simulator.chaos;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.check.OnceOnlyChecker;
import io.ferry.check.ReferenceRun;
import io.ferry.cli.SampleQuery;
import io.ferry.query.NodeId;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChaosSmokeIT {
  @TempDir Path dir;

  @Test
  void mixedScenarioKeepsOnceOnly() throws Exception {
    Scenario s = Scenario.load(Path.of("../config/scenarios/mixed-chaos.conf"));
    long seed = Long.getLong("ferry.seed", 7L);
    System.out.println("seed=" + seed + " plan=" + ChaosRun.schedule(s, seed));
    ChaosRun.Observed o = ChaosRun.run(s, seed, dir);
    System.out.println("faults=" + o.faults() + "\noperations=" + o.operations() + "\nfinished=" + o.finished() + " at " + o.finishedMillis());
    var expected = ReferenceRun.run(o.graph(), 10_000_000).get(new NodeId(SampleQuery.SINK));
    var v = OnceOnlyChecker.check(expected, o.sinkRows());
    System.out.println(v);
    assertTrue(o.finished() && v.ok(), v.toString());
  }
}
