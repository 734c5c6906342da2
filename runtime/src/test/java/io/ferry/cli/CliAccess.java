package io.ferry.cli;

import java.util.List;

/** Lets tests in other packages run a {@code ferry} command as the launcher would, and get its exit code. */
public final class CliAccess {
  private CliAccess() {}

  public static int run(List<String> args) throws Exception {
    return Main.run(args);
  }
}
