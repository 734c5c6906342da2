package io.ferry.cli;

import io.ferry.blocks.WritePolicy;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry volume cutover|pause|resume|abort|reverse|policy}: the end of a volume migration's
 * life (issue 14), each answered once the target has made it durable (docs/blocks.md).
 */
final class VolumeControlCommands {
  private VolumeControlCommands() {}

  private static int explained(ManagementClient client, String volume, String verb, String body) {
    try {
      return client.volumeControl(volume, verb, body);
    } catch (ManagementClient.Failed e) {
      System.err.println("ferry: " + e.getMessage());
      return 1;
    }
  }

  /** One verb without a body. */
  abstract static class Verb implements Callable<Integer> {
    @CommandLine.Mixin Main.VolumeCommand.Volume volume = new Main.VolumeCommand.Volume();
    @CommandLine.Mixin Main.Endpoint endpoint = new Main.Endpoint();

    abstract String verb();

    @Override
    public Integer call() {
      String id = volume.id(verb());
      ManagementClient client = endpoint.client();
      return explained(client, id, verb(), "");
    }
  }

  @Command(name = "cutover", description = "Converges (passes until the target's change set is small), then makes the target the primary and releases the source.")
  static final class Cutover extends Verb {
    String verb() {
      return "cutover";
    }
  }

  @Command(name = "pause", description = "Pauses the background copy, passes and write-back shipping; the export keeps serving.")
  static final class Pause extends Verb {
    String verb() {
      return "pause";
    }
  }

  @Command(name = "resume", description = "Resumes a paused volume migration where it paused.")
  static final class Resume extends Verb {
    String verb() {
      return "resume";
    }
  }

  @Command(name = "abort", description = "Before the cut-over: ships the target's writes back and keeps the source the primary.")
  static final class Abort extends Verb {
    String verb() {
      return "abort";
    }
  }

  @Command(name = "reverse", description = "After the cut-over: migrates back to the source, shipping only the blocks changed at the target.")
  static final class Reverse extends Verb {
    String verb() {
      return "reverse";
    }
  }

  @Command(name = "policy", description = "Sets where the target's writes persist while the volume runs: target-only or write-back.")
  static final class Policy implements Callable<Integer> {
    @CommandLine.Mixin Main.VolumeCommand.Volume volume = new Main.VolumeCommand.Volume();
    @CommandLine.Mixin Main.Endpoint endpoint = new Main.Endpoint();

    @Option(names = "--set", paramLabel = "POLICY", required = true, description = "target-only or write-back")
    String policy;

    @Override
    public Integer call() {
      String id = volume.id("policy");
      String word = WritePolicy.parse(policy).word();
      ManagementClient client = endpoint.client();
      return explained(client, id, "policy", "{\"policy\":\"" + word + "\"}");
    }
  }
}
