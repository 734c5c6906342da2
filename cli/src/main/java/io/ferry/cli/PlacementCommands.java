package io.ferry.cli;

import io.ferry.bench.PlanBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** The placement planner's commands (docs/placement.md). */
final class PlacementCommands {
  private PlacementCommands() {}

  @Command(
      name = "bench-plan",
      description = {
        "Measures the placement planner: planning time (50 nodes x 100 sites, 200 x 1,000) and, on a",
        "simulated shifting workload, WAN bytes, cloud core-seconds, p99 latency and cost of all-cloud,",
        "all-edge, static plans and Ferry's automatic placement."
      })
  static final class BenchPlanCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SEED", description = "the workload's seed (default ${DEFAULT-VALUE})")
    long seed = 1;

    @Override
    public Integer call() {
      PlanBench.main(new String[] {Long.toString(seed)});
      return 0;
    }
  }

  @Command(
      name = "decisions",
      description = "Prints the placement manager's decisions (proposed, executed, skipped), one 'decision ...' line each with its reason.")
  static final class DecisionsCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin Main.Endpoint endpoint = new Main.Endpoint();

    @Override
    public Integer call() {
      try {
        return endpoint.client().decisions();
      } catch (ManagementClient.Failed e) {
        System.err.println("ferry: " + e.getMessage());
        return 1;
      }
    }
  }
}
