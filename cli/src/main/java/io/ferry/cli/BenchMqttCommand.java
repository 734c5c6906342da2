package io.ferry.cli;

import io.ferry.bench.MqttBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "bench-mqtt",
    description = {
      "Measures MQTT ingest on one edge member: messages/s a QoS-1 source acknowledges after journaling them.",
      "Starts an embedded broker and a one-member cluster in temporary directories."
    })
final class BenchMqttCommand implements Callable<Integer> {
  @Parameters(index = "0", arity = "0..1", paramLabel = "MESSAGES", converter = Main.Positive.class, description = "(default ${DEFAULT-VALUE})")
  long messages = 50_000;

  @Override
  public Integer call() throws Exception {
    MqttBench.main(new String[] {Long.toString(messages)});
    return 0;
  }
}
