package io.ferry.placement;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.ferry.persistence.CborSerializable;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a migration did: its steps with timings, and where its nodes run in the end. Built by
 * {@link MoveProcess.Move#report}; users read it as JSON (ids as plain strings).
 *
 * @param outcome RUNNING while it runs; COMPLETED when the nodes run at the target; ROLLED_BACK
 *     when they run at the source again (then {@code reason} says why)
 * @param sites node id → the site it runs at now (absent once its query is undeployed)
 */
public record MigrationReport(
    MigrationId id,
    QueryId query,
    List<NodeId> nodes,
    Map<NodeId, Site> from,
    Site to,
    Outcome outcome,
    String reason,
    List<Step> steps,
    Map<NodeId, Site> sites,
    long startedAtMillis,
    long endedAtMillis)
    implements CborSerializable {

  public MigrationReport {
    nodes = List.copyOf(nodes);
    steps = List.copyOf(steps);
  }

  /** How a migration stands; the JSON values are the constant names. */
  public enum Outcome {
    RUNNING,
    COMPLETED,
    ROLLED_BACK
  }

  /** The steps a report lists, in JSON by their lower-case label. */
  public enum StepName {
    /** Every node paused, its checkpoint taken. */
    STOP,
    /** The nodes placed at the target site. */
    RELOCATE,
    /** The nodes placed back at their source sites. */
    ROLLBACK,
    /** Every node resumed where it is placed. */
    RESTORE;

    @JsonValue
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static StepName parse(String s) {
      for (StepName n : values()) {
        if (n.label().equals(s)) {
          return n;
        }
      }
      throw new IllegalArgumentException("a migration step is stop, relocate, rollback or restore, got '" + s + "'");
    }

    @Override
    public String toString() {
      return label();
    }
  }

  /** One step: stop (pause and checkpoint), relocate, restore (resume at the new member), rollback. */
  public record Step(StepName name, long atMillis, long durationMillis, String detail) implements CborSerializable {}

  public boolean ended() {
    return outcome != Outcome.RUNNING;
  }

  /** Milliseconds from the first pause to the last resume: how long the moved nodes took no input. */
  public long pauseMillis() {
    return (ended() ? endedAtMillis : System.currentTimeMillis()) - startedAtMillis;
  }
}
