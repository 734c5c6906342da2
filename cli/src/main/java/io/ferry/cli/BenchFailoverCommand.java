package io.ferry.cli;

import io.ferry.bench.FailoverBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "bench-failover",
    description = {
      "Measures failover after a crash: four member processes on loopback run the demo's query; the member hosting",
      "window-a is killed with SIGKILL and started again a second later, KILLS times. Prints kill -> first new output",
      "p50/max with its steps, and checks that no node ran twice at once and that the archive is once-only."
    })
final class BenchFailoverCommand implements Callable<Integer> {
  @Parameters(index = "0", arity = "0..1", paramLabel = "KILLS", converter = Main.Positive.class, description = "(default ${DEFAULT-VALUE})")
  long kills = 5;

  @Option(names = "--config", paramLabel = "HOCON", description = "added to every member's configuration, e.g. 'ferry.failover.network = wan'")
  String config = "";

  @Override
  public Integer call() throws Exception {
    FailoverBench.main(new String[] {Long.toString(kills), config});
    return 0;
  }
}
