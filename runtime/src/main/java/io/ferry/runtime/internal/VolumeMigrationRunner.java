package io.ferry.runtime.internal;

import io.ferry.api.Ferry;
import io.ferry.api.VolumeStatus;
import io.ferry.blocks.VolumeSpec;
import io.ferry.tasks.Outcome;
import io.ferry.tasks.TaskKind;
import io.ferry.tasks.TaskRunner;
import io.ferry.tasks.VolumeMigrationParameters;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The {@code volume-migration} kind: starts the volume's migration through the volume API (or
 * finds it already started by an earlier attempt, whose lease was lost) and ends when the target
 * holds every block. Cut-over is not part of the task. A stopped attempt leaves the migration
 * running: the next holder watches the same migration instead of starting it again.
 */
public final class VolumeMigrationRunner implements TaskRunner {
  /** Status polls in a row that may fail or report an error (the volume's halves moving after a crash) before the attempt fails. */
  private static final int POLL_FAILURES_MAX = 60;

  private final ActorSystem<?> system;
  private final Ferry ferry;
  private final Duration poll;

  public VolumeMigrationRunner(ActorSystem<?> system, Ferry ferry, Duration poll) {
    this.system = system;
    this.ferry = ferry;
    this.poll = poll;
  }

  @Override
  public TaskKind kind() {
    return VolumeMigrationParameters.KIND;
  }

  @Override
  public CompletionStage<Outcome> run(Context context) {
    VolumeSpec spec = VolumeMigrationParameters.parse(context.parameters()).spec();
    CompletableFuture<Outcome> result = new CompletableFuture<>();
    ferry.startVolume(spec).whenComplete((accepted, error) -> {
      if (error != null && !String.valueOf(error.getMessage()).contains("already migrating")) {
        result.complete(new Outcome.Failed("volume " + spec.volume() + " did not start: " + rootMessage(error)));
      } else {
        watch(spec, context, result, 0);
      }
    });
    return result;
  }

  private void watch(VolumeSpec spec, Context context, CompletableFuture<Outcome> result, int failures) {
    if (context.stopped().toCompletableFuture().isDone()) {
      result.complete(new Outcome.Failed("stopped: " + context.stopped().toCompletableFuture().join()));
      return;
    }
    ferry.volumeStatus(spec.volume()).whenComplete((status, error) -> {
      if (error == null && status.copied()) {
        long bytes = status.frontend().map(VolumeStatus.Frontend::sizeBytes).orElse(0L);
        result.complete(new Outcome.Succeeded("volume " + spec.volume() + " copied to " + spec.targetSite() + ": " + bytes + " bytes, NBD " + status.nbdUrl()));
      } else {
        String problem = error != null ? rootMessage(error) : status.error();
        int f = problem.isEmpty() ? 0 : failures + 1;
        if (f >= POLL_FAILURES_MAX) {
          result.complete(new Outcome.Failed("volume " + spec.volume() + ": " + problem + " (" + f + " status polls in a row)"));
        } else {
          system.scheduler().scheduleOnce(poll, () -> watch(spec, context, result, f), system.executionContext());
        }
      }
    });
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }
}
