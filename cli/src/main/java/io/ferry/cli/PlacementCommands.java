package io.ferry.cli;

import io.ferry.bench.PlanBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
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

  @Command(
      name = "placement",
      description = "The placement manager's per-query mode and users' pins (docs/placement.md).",
      subcommands = {ModeCommand.class, UnpinCommand.class})
  static final class PlacementCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "name a subcommand: mode or unpin");
    }
  }

  @Command(
      name = "mode",
      description = {
        "Sets the placement mode: manual (the manager only proposes moves) or automatic (it runs the proposals that hold),",
        "of one query (--query; default puts it back on the cluster's mode) or of the cluster."
      })
  static final class ModeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODE", description = "manual, automatic, or default (with --query: the cluster's)")
    String mode;

    @Option(names = "--query", paramLabel = "Q", description = "the query (default: the cluster's mode)")
    String query;

    @picocli.CommandLine.Mixin Main.Endpoint endpoint = new Main.Endpoint();

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      if (!(mode.equals("manual") || mode.equals("automatic") || (mode.equals("default") && query != null))) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "MODE must be manual or automatic" + (query != null ? " or default" : " (default needs --query)") + ", got '" + mode + "'");
      }
      try {
        return endpoint.client().placementMode(query, mode);
      } catch (ManagementClient.Failed e) {
        System.err.println("ferry: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "unpin", description = "Lifts the pin a user's migration put on a node, so the placement manager may move it again.")
  static final class UnpinCommand implements Callable<Integer> {
    @Option(names = "--query", paramLabel = "Q", required = true, description = "the node's query")
    String query;

    @Option(names = "--node", paramLabel = "NODE", required = true, description = "the pinned node")
    String node;

    @picocli.CommandLine.Mixin Main.Endpoint endpoint = new Main.Endpoint();

    @Override
    public Integer call() {
      try {
        return endpoint.client().unpin(query, node);
      } catch (ManagementClient.Failed e) {
        System.err.println("ferry: " + e.getMessage());
        return 1;
      }
    }
  }
}
