package io.ferry.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ferry rescale}: changes how many instances a keyed node runs while its query runs. */
@Command(
    name = "rescale",
    description = "Rescales a keyed node (declared with a parallelism) to N instances while its query runs; waits for the rescale to end.")
final class RescaleCommand implements Callable<Integer> {
  @Option(names = "--query", paramLabel = "Q", required = true, description = "the query of the keyed node")
  String query;

  @Option(names = "--node", paramLabel = "N", required = true, description = "the keyed node (its id in the graph, not an instance's)")
  String node;

  @Option(names = "--parallelism", paramLabel = "P", required = true, description = "instances to run, 1 to the node's maxParallelism")
  int parallelism;

  @Mixin Main.Endpoint endpoint = new Main.Endpoint();

  @Override
  public Integer call() {
    if (parallelism < 1 || parallelism > io.ferry.query.KeyGroups.PARALLELISM_MAX) {
      throw new IllegalArgumentException("--parallelism must be 1.." + io.ferry.query.KeyGroups.PARALLELISM_MAX + ", got " + parallelism);
    }
    try {
      // Bad names are usage errors (IllegalArgumentException), found before anything is sent.
      return endpoint.client().rescale(query, node, parallelism);
    } catch (ManagementClient.Failed e) {
      System.err.println("ferry: " + e.getMessage());
      return 1;
    }
  }
}
