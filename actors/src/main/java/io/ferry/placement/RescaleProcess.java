package io.ferry.placement;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MigrationReport.Outcome;
import io.ferry.query.KeyGroups;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import io.ferry.query.ops.KeyedWindows;
import io.ferry.query.ops.WindowState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The live rescale of a keyed node from parallelism {@code from} to {@code to} as a pure state
 * machine, run by the query registry and by the deterministic simulator alike (no clock, actor or
 * randomness here; see {@link MoveProcess} for the same pattern).
 *
 * <p>Every instance of a keyed node reads the whole output of the node's one upstream, each with
 * its own input anchor. A consistent cut is where all of them stand at the same anchor: so the
 * process pauses the upstream (it keeps serving, but takes no input: its output stops at {@code
 * end}), waits until every instance has reported standing at {@code end} with its window state
 * there, computes each instance's state for the new key-group ranges, persists that ({@link
 * RescaleCut}: from here on it only rolls forward), hands every instance its groups and state
 * ({@code Regrouped}, idempotent per rescale), and resumes the upstream. Consumers of the instances
 * keep reading their output logs throughout. Before the cut a timeout rolls back: nothing changed
 * but the pause, so the upstream is resumed.
 */
public final class RescaleProcess {

  /**
   * @param stepTimeout how long pausing the upstream and draining the instances to the cut may take
   *     before the rescale rolls back
   * @param retry how often an ask that got no answer is sent again
   * @param entriesMax open window-key accumulators one instance may be handed: each state travels in
   *     one message, so a cut whose new state for some instance is bigger rolls back instead of
   *     leaving a regroup that can never be delivered (and the upstream paused)
   */
  public record Settings(Duration stepTimeout, Duration retry, int entriesMax) {
    public Settings {
      if (stepTimeout.isNegative() || stepTimeout.isZero() || retry.isNegative() || retry.isZero() || entriesMax < 1) {
        throw new IllegalArgumentException("a rescale's step timeout, retry and entries-max must be positive, got " + stepTimeout + ", "
            + retry + " and " + entriesMax);
      }
    }
  }

  // ---- events: the persisted facts ---------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    String id();

    long atMillis();
  }

  /**
   * {@code instances}: all of the node's instances ({@code maxParallelism}), in index order;
   * {@code deploymentId}: the deployment it rescales (a redeployed query starts at its declared parallelism).
   */
  public record RescaleStarted(String id, QueryId query, String deploymentId, NodeId node, NodeId upstream, List<NodeId> instances,
      int from, int to, long atMillis) implements Event {
    public RescaleStarted {
      instances = List.copyOf(instances);
      KeyGroups.checkParallelism(from);
      KeyGroups.checkParallelism(to);
      if (to > instances.size()) {
        throw new IllegalArgumentException("node " + node + " has " + instances.size() + " instances, cannot run " + to);
      }
    }
  }

  /**
   * The cut: every instance stood at input anchor {@code anchor} (the upstream paused since {@code
   * pausedAtMillis}); {@code states}: each instance's window state under the new ranges.
   */
  public record RescaleCut(String id, long anchor, Map<NodeId, WindowState> states, long pausedAtMillis, long atMillis)
      implements Event {
    public RescaleCut {
      states = Map.copyOf(states);
    }
  }

  /** Every instance holds its new groups. */
  public record InstancesRegrouped(String id, long atMillis) implements Event {}

  public record RescaleFinished(String id, Outcome outcome, String reason, long atMillis) implements Event {}

  /** The persisted stage: what a restarted manager rolls forward or back from. */
  public enum Stage {
    STARTED,
    CUT,
    REGROUPED,
    ENDED
  }

  /** A rescale as recorded, built from its events; {@link #report()} is what users see. */
  public record Rescale(RescaleStarted started, Stage stage, long anchor, Map<NodeId, WindowState> states, int entries,
      long pausedAtMillis, long cutAtMillis, long regroupedAtMillis, Outcome outcome, String reason, long endedAtMillis)
      implements CborSerializable {

    public static Rescale started(RescaleStarted s) {
      return new Rescale(s, Stage.STARTED, -1, Map.of(), 0, 0, 0, 0, Outcome.RUNNING, "", 0);
    }

    public String id() {
      return started.id();
    }

    public boolean active() {
      return outcome == Outcome.RUNNING;
    }

    public Rescale apply(Event e) {
      if (!e.id().equals(id())) {
        throw new IllegalArgumentException("event of rescale " + e.id() + " applied to rescale " + id());
      }
      if (e instanceof RescaleCut c) {
        int n = 0;
        for (WindowState s : c.states().values()) {
          n += KeyedWindows.entries(s);
        }
        return new Rescale(started, Stage.CUT, c.anchor(), c.states(), n, c.pausedAtMillis(), c.atMillis(), 0, outcome, reason, 0);
      } else if (e instanceof InstancesRegrouped r) {
        return new Rescale(started, Stage.REGROUPED, anchor, states, entries, pausedAtMillis, cutAtMillis, r.atMillis(), outcome, reason, 0);
      } else if (e instanceof RescaleFinished f) {
        // The states were handed over; the record keeps only the figures.
        return new Rescale(started, Stage.ENDED, anchor, Map.of(), entries, pausedAtMillis, cutAtMillis, regroupedAtMillis, f.outcome(),
            f.reason(), f.atMillis());
      }
      throw new IllegalArgumentException("rescale " + id() + " has started already: " + e);
    }

    /** What the API shows: parallelism before and after, outcome, the upstream's pause and the total time. */
    public RescaleReport report() {
      long pause = pausedAtMillis > 0 && endedAtMillis > 0 && outcome == Outcome.COMPLETED ? endedAtMillis - pausedAtMillis : -1;
      return new RescaleReport(id(), started.query(), started.node(), started.from(), started.to(), outcome, reason, anchor,
          KeyGroups.moves(started.from(), started.to()).size(), entries, started.atMillis(), endedAtMillis,
          endedAtMillis > 0 ? endedAtMillis - started.atMillis() : -1, pause);
    }
  }

  /**
   * A rescale as the API shows it.
   *
   * @param groupsMoved key groups that changed instance
   * @param entries open window-key accumulators held by the instances at the cut (what was regrouped)
   * @param pauseMillis from the upstream's pause to its resume (the rows held back); -1 unless completed
   */
  public record RescaleReport(String id, QueryId query, NodeId node, int from, int to, Outcome outcome, String reason, long anchor,
      int groupsMoved, int entries, long startedAtMillis, long endedAtMillis, long totalMillis, long pauseMillis)
      implements CborSerializable {}

  // ---- phases ------------------------------------------------------------------------------

  public sealed interface Phase {}

  public record PausingUpstream(long deadlineMillis) implements Phase {}

  /** The upstream's output stops at {@code end}; {@code reports}: instances seen standing there. */
  public record Draining(long end, long pausedAtMillis, Map<NodeId, WindowState> reports, long deadlineMillis) implements Phase {}

  public record Regrouping(Set<NodeId> waitingFor) implements Phase {}

  public record ResumingUpstream(Outcome outcome, String reason) implements Phase {}

  public record Ended(Outcome outcome) implements Phase {}

  // ---- inputs ------------------------------------------------------------------------------

  public sealed interface Input {}

  /** The upstream paused; its output ends at {@code end}; {@code done}: its stream has ended. */
  public record UpstreamPaused(long end, boolean done) implements Input {}

  /** The upstream did not pause: {@code retry} when asking again may work (it is starting). */
  public record UpstreamRefused(String reason, boolean retry) implements Input {}

  /** An instance stands at input anchor {@code anchor} with {@code state}. */
  public record InstanceReport(NodeId instance, long anchor, WindowState state) implements Input {}

  public record InstanceRegrouped(NodeId instance) implements Input {}

  /** An instance refused its groups; after the cut it is asked again until it takes them. */
  public record RegroupRefused(NodeId instance, String reason) implements Input {}

  public record UpstreamResumed() implements Input {}

  public record TimerFired() implements Input {}

  // ---- effects -----------------------------------------------------------------------------

  public sealed interface Effect {}

  public record AskPauseUpstream(NodeId upstream) implements Effect {}

  public record AskReport(NodeId instance) implements Effect {}

  public record AskRegroup(NodeId instance, KeyGroups.Range range, long anchor, WindowState state) implements Effect {}

  public record AskResumeUpstream(NodeId upstream) implements Effect {}

  /** (Re)start the rescale's one timer. */
  public record StartTimer(long afterMillis) implements Effect {}

  /** The rescale ended: answer whoever waits for it. */
  public record Finish(Outcome outcome, String reason) implements Effect {}

  /** Persist {@code events} (in order, before anything else), then carry out {@code effects}. */
  public record Decision(List<Event> events, List<Effect> effects) {
    public Decision {
      events = List.copyOf(events);
      effects = List.copyOf(effects);
    }
  }

  private final Settings settings;
  private Rescale rescale;
  private Phase phase;

  private RescaleProcess(Settings settings, Rescale rescale, Phase phase) {
    this.settings = settings;
    this.rescale = rescale;
    this.phase = phase;
  }

  /** A started rescale and its first decision. */
  public record Begun(RescaleProcess process, Decision decision) {}

  public static Begun start(Settings settings, RescaleStarted started, MoveProcess.Now now) {
    RescaleProcess p = new RescaleProcess(settings, Rescale.started(started), new PausingUpstream(now.monotonicMillis() + settings.stepTimeout().toMillis()));
    return new Begun(p, new Decision(List.of(started),
        List.of(new AskPauseUpstream(started.upstream()), new StartTimer(settings.retry().toMillis()))));
  }

  /**
   * A rescale whose manager restarted: before the cut it rolls back (resumes the upstream), after it
   * rolls forward (hands the persisted states out again: instances that took theirs answer done).
   */
  public static Begun recover(Settings settings, Rescale r) {
    RescaleProcess p = new RescaleProcess(settings, r, new Ended(r.outcome()));
    if (r.stage() == Stage.ENDED) {
      return new Begun(p, new Decision(List.of(), List.of()));
    }
    return switch (r.stage()) {
      case STARTED -> new Begun(p, p.resumeUpstream(Outcome.ROLLED_BACK, "the manager restarted before the cut", List.of()));
      case CUT -> new Begun(p, p.regroupAll(List.of()));
      default -> new Begun(p, p.resumeUpstream(Outcome.COMPLETED, "", List.of()));
    };
  }

  public Rescale rescale() {
    return rescale;
  }

  public Phase phase() {
    return phase;
  }

  public Decision on(Input input, MoveProcess.Now now) {
    RescaleStarted s = rescale.started();
    if (phase instanceof PausingUpstream p) {
      if (input instanceof UpstreamPaused u) {
        if (u.done()) {
          return resumeUpstream(Outcome.ROLLED_BACK, "the stream into " + s.node() + " has ended: nothing to rescale", List.of());
        }
        phase = new Draining(u.end(), now.wallMillis(), new LinkedHashMap<>(), p.deadlineMillis());
        return askReports();
      } else if (input instanceof UpstreamRefused r && !r.retry()) {
        return resumeUpstream(Outcome.ROLLED_BACK, "upstream " + s.upstream() + " did not pause: " + r.reason(), List.of());
      } else if (input instanceof TimerFired) {
        if (now.monotonicMillis() >= p.deadlineMillis()) {
          return resumeUpstream(Outcome.ROLLED_BACK, "upstream " + s.upstream() + " did not pause within " + settings.stepTimeout(), List.of());
        }
        return new Decision(List.of(), List.of(new AskPauseUpstream(s.upstream()), timer()));
      }
    } else if (phase instanceof Draining d) {
      if (input instanceof InstanceReport r && s.instances().contains(r.instance())) {
        if (r.anchor() > d.end()) {
          throw new IllegalStateException("instance " + r.instance() + " stands at " + r.anchor() + ", past the paused upstream's end " + d.end());
        }
        if (r.anchor() == d.end()) {
          d.reports().put(r.instance(), r.state());
        }
        if (d.reports().size() == s.instances().size()) {
          return cut(d, now);
        }
        return new Decision(List.of(), List.of());
      } else if (input instanceof TimerFired) {
        if (now.monotonicMillis() >= d.deadlineMillis()) {
          Set<NodeId> behind = new LinkedHashSet<>(s.instances());
          behind.removeAll(d.reports().keySet());
          return resumeUpstream(Outcome.ROLLED_BACK,
              "instances " + behind + " did not reach the cut at " + d.end() + " within " + settings.stepTimeout(), List.of());
        }
        return askReports();
      }
    } else if (phase instanceof Regrouping g) {
      if (input instanceof InstanceRegrouped r) {
        g.waitingFor().remove(r.instance());
        if (g.waitingFor().isEmpty()) {
          return resumeUpstream(Outcome.COMPLETED, "", List.of(new InstancesRegrouped(rescale.id(), now.wallMillis())));
        }
        return new Decision(List.of(), List.of());
      } else if (input instanceof TimerFired) {
        List<Effect> effects = new ArrayList<>();
        for (NodeId n : g.waitingFor()) {
          effects.add(regroupAsk(n));
        }
        effects.add(timer());
        return new Decision(List.of(), effects);
      }
    } else if (phase instanceof ResumingUpstream r) {
      if (input instanceof UpstreamResumed) {
        RescaleFinished f = new RescaleFinished(rescale.id(), r.outcome(), r.reason(), now.wallMillis());
        apply(f);
        phase = new Ended(r.outcome());
        return new Decision(List.of(f), List.of(new Finish(r.outcome(), r.reason())));
      } else if (input instanceof TimerFired) {
        return new Decision(List.of(), List.of(new AskResumeUpstream(s.upstream()), timer()));
      }
    }
    return new Decision(List.of(), List.of());
  }

  private Decision cut(Draining d, MoveProcess.Now now) {
    RescaleStarted s = rescale.started();
    List<WindowState> all = new ArrayList<>(d.reports().values());
    Map<NodeId, WindowState> states = new LinkedHashMap<>();
    for (int i = 0; i < s.instances().size(); i++) {
      NodeId n = s.instances().get(i);
      WindowState next = KeyedWindows.regroup(d.reports().get(n), all, KeyGroups.range(i, s.to()));
      if (KeyedWindows.entries(next) > settings.entriesMax()) {
        return resumeUpstream(Outcome.ROLLED_BACK, "instance " + n + " would be handed " + KeyedWindows.entries(next)
            + " window entries, more than ferry.rescale.entries-max " + settings.entriesMax(), List.of());
      }
      states.put(n, next);
    }
    RescaleCut c = new RescaleCut(rescale.id(), d.end(), states, d.pausedAtMillis(), now.wallMillis());
    apply(c);
    return regroupAll(List.of(c));
  }

  private Decision regroupAll(List<Event> events) {
    phase = new Regrouping(new LinkedHashSet<>(rescale.started().instances()));
    List<Effect> effects = new ArrayList<>();
    for (NodeId n : rescale.started().instances()) {
      effects.add(regroupAsk(n));
    }
    effects.add(timer());
    return new Decision(events, effects);
  }

  private AskRegroup regroupAsk(NodeId n) {
    int i = rescale.started().instances().indexOf(n);
    return new AskRegroup(n, KeyGroups.range(i, rescale.started().to()), rescale.anchor(), rescale.states().get(n));
  }

  private Decision askReports() {
    Draining d = (Draining) phase;
    List<Effect> effects = new ArrayList<>();
    for (NodeId n : rescale.started().instances()) {
      if (!d.reports().containsKey(n)) {
        effects.add(new AskReport(n));
      }
    }
    effects.add(timer());
    return new Decision(List.of(), effects);
  }

  private Decision resumeUpstream(Outcome outcome, String reason, List<Event> events) {
    events.forEach(this::apply);
    phase = new ResumingUpstream(outcome, reason);
    return new Decision(events, List.of(new AskResumeUpstream(rescale.started().upstream()), timer()));
  }

  private void apply(Event e) {
    rescale = rescale.apply(e);
  }

  private StartTimer timer() {
    return new StartTimer(settings.retry().toMillis());
  }
}
