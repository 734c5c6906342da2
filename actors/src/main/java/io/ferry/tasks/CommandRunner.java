package io.ferry.tasks;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The {@code command} kind: runs an external program with its arguments, kills it (and what it
 * started) at its timeout or when the attempt must stop, and keeps the tail of its output (stdout
 * and stderr together) up to {@code outputBytesMax}. Exit 0 succeeds; anything else fails with
 * the exit code and the output's tail as the reason.
 */
public final class CommandRunner implements TaskRunner {
  private static final int READ_BYTES = 8192;

  private final Executor blocking;

  /** @param blocking where the process is waited for (one thread per running command) */
  public CommandRunner(Executor blocking) {
    this.blocking = blocking;
  }

  @Override
  public TaskKind kind() {
    return CommandParameters.KIND;
  }

  @Override
  public CompletionStage<Outcome> run(Context context) {
    CommandParameters p = CommandParameters.parse(context.parameters());
    return CompletableFuture.supplyAsync(() -> runBlocking(p, context), blocking);
  }

  private static Outcome runBlocking(CommandParameters p, Context context) {
    List<String> argv = new ArrayList<>();
    argv.add(p.command());
    argv.addAll(p.args());
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
    // Which attempt this is, for commands that make their side effects idempotent.
    pb.environment().put("FERRY_TASK", context.task().toString());
    pb.environment().put("FERRY_POOL", context.pool().value());
    pb.environment().put("FERRY_HOLDER", context.holder());
    pb.environment().put("FERRY_LEASE", Long.toString(context.lease()));
    if (!p.dir().isEmpty()) {
      pb.directory(new File(p.dir()));
    }
    Process proc;
    try {
      proc = pb.start();
    } catch (IOException e) {
      return new Outcome.Failed("cannot start " + p.command() + ": " + e.getMessage());
    }
    String[] stoppedWhy = new String[1];
    context.stopped().thenAccept(why -> {
      stoppedWhy[0] = why;
      kill(proc);
    });
    Tail tail = new Tail(p.outputBytesMax());
    Thread reader = new Thread(() -> tail.drain(proc.getInputStream()), "ferry-command-output");
    reader.setDaemon(true);
    reader.start();
    try {
      boolean ended = proc.waitFor(p.timeout().toMillis(), TimeUnit.MILLISECONDS);
      if (!ended) {
        kill(proc);
        reader.join(1000);
        return new Outcome.Failed("timed out after " + p.timeout().toMillis() + " ms: " + tail);
      }
      reader.join(1000);
    } catch (InterruptedException e) {
      kill(proc);
      Thread.currentThread().interrupt();
      return new Outcome.Failed("interrupted");
    }
    if (stoppedWhy[0] != null) {
      return new Outcome.Failed("stopped: " + stoppedWhy[0]);
    }
    int exit = proc.exitValue();
    return exit == 0 ? new Outcome.Succeeded(tail.toString()) : new Outcome.Failed("exit " + exit + ": " + tail);
  }

  private static void kill(Process proc) {
    proc.descendants().forEach(ProcessHandle::destroyForcibly);
    proc.destroyForcibly();
  }

  /** The last {@code max} bytes of a stream. */
  private static final class Tail {
    private final byte[] ring;
    private long written;

    Tail(int max) {
      this.ring = new byte[max];
    }

    void drain(InputStream in) {
      byte[] buf = new byte[READ_BYTES];
      try (in) {
        for (int n; (n = in.read(buf)) > 0; ) {
          synchronized (this) {
            for (int i = 0; i < n && ring.length > 0; i++) {
              ring[(int) ((written + i) % ring.length)] = buf[i];
            }
            written += n;
          }
        }
      } catch (IOException e) {
        // the process was killed: keep what was read
      }
    }

    @Override
    public synchronized String toString() {
      int len = (int) Math.min(written, ring.length);
      byte[] out = new byte[len];
      for (int i = 0; i < len; i++) {
        out[i] = ring[(int) ((written - len + i) % ring.length)];
      }
      return new String(out, StandardCharsets.UTF_8).strip();
    }
  }
}
