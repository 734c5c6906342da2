package io.ferry.placement;

import io.ferry.persistence.CborSerializable;
import java.util.List;
import java.util.Map;

/**
 * What a migration did: its steps with timings, and where its nodes run in the end.
 *
 * @param outcome RUNNING while it runs; COMPLETED when the nodes run at the target; ROLLED_BACK
 *     when they run at the source again (then {@code reason} says why)
 * @param sites node id → the site it runs at now
 */
public record MigrationReport(
    String id,
    String query,
    List<String> nodes,
    Map<String, String> from,
    String to,
    String outcome,
    String reason,
    List<Step> steps,
    Map<String, String> sites,
    long startedAtMillis,
    long endedAtMillis)
    implements CborSerializable {

  public static final String RUNNING = "RUNNING";
  public static final String COMPLETED = "COMPLETED";
  public static final String ROLLED_BACK = "ROLLED_BACK";

  /** One step: stop (pause and checkpoint), relocate, restore (resume at the new member), rollback. */
  public record Step(String name, long atMillis, long durationMillis, String detail) implements CborSerializable {}

  public boolean ended() {
    return !RUNNING.equals(outcome);
  }

  /** Milliseconds from the first pause to the last resume: how long the moved nodes took no input. */
  public long pauseMillis() {
    return (ended() ? endedAtMillis : System.currentTimeMillis()) - startedAtMillis;
  }
}
