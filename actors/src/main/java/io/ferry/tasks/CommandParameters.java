package io.ferry.tasks;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The parameters of a {@code command} task: an external program, its arguments (one per line in
 * the {@code args} parameter), a timeout and a bound on the output kept.
 *
 * <p>Parameters: {@code command} (required), {@code args}, {@code timeoutMs} (default 60000, at
 * most a day), {@code outputBytesMax} (default 65536, at most 1 MiB), {@code dir}.
 */
public record CommandParameters(String command, List<String> args, Duration timeout, int outputBytesMax, String dir) {
  public static final String NAME = "command";
  public static final Duration TIMEOUT_DEFAULT = Duration.ofSeconds(60);
  public static final Duration TIMEOUT_MAX = Duration.ofDays(1);
  public static final int OUTPUT_DEFAULT = 64 * 1024;
  public static final int OUTPUT_MAX = 1024 * 1024;
  private static final List<String> KNOWN = List.of("command", "args", "timeoutMs", "outputBytesMax", "dir");

  public static final TaskKind KIND = new TaskKind() {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public void validate(Map<String, String> parameters) {
      parse(parameters);
    }
  };

  public static CommandParameters parse(Map<String, String> p) {
    Params.checkKnown(p, KNOWN);
    String command = p.get("command");
    if (command == null || command.isBlank()) {
      throw new IllegalArgumentException("parameter 'command' (the program to run) is missing");
    }
    String args = p.getOrDefault("args", "");
    List<String> argList = args.isEmpty() ? List.of() : Arrays.asList(args.split("\n", -1));
    long timeoutMs = Params.longIn(p, "timeoutMs", TIMEOUT_DEFAULT.toMillis(), 1, TIMEOUT_MAX.toMillis());
    long output = Params.longIn(p, "outputBytesMax", OUTPUT_DEFAULT, 0, OUTPUT_MAX);
    return new CommandParameters(command, List.copyOf(argList), Duration.ofMillis(timeoutMs), (int) output, p.getOrDefault("dir", ""));
  }
}
