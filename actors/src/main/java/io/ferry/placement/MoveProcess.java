package io.ferry.placement;

import io.ferry.persistence.CborSerializable;
import io.ferry.placement.MigrationReport.Outcome;
import io.ferry.placement.MigrationReport.Step;
import io.ferry.placement.MigrationReport.StepName;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The move of some logic nodes of one query to another site (DESIGN.md "Moving a node") as a pure
 * state machine: stop (pause, checkpoint) → relocate → restore → resume, or roll back to the
 * source sites. The placement manager ({@code QueryRegistry}) and the deterministic simulator
 * both run this class: they feed it inputs (node replies, lost asks, timer expiries, a restart)
 * with the current time ({@link Now}), persist the events it decides on and then carry out its effects (ask a
 * node, write locations, start the timer, answer the caller). No clock, actor or randomness here.
 *
 * <p>What is persisted ({@link Move}, built from {@link Event}s) is what survives the manager;
 * what the process waits for ({@link Phase}) is rebuilt by {@link #recover} after a restart.
 */
public final class MoveProcess {

  /**
   * @param stepTimeout how long the stop step, and the restore step, may take before rolling back
   * @param resumeRetry how often a node not yet resumed is asked again; a pause is asked again
   *     every five of these
   * @param holdBeforeRestore a wait between relocate and restore (zero in production; tests and
   *     the simulator use it to crash members mid-move)
   */
  public record Settings(Duration stepTimeout, Duration resumeRetry, Duration holdBeforeRestore) {
    public Settings {
      if (stepTimeout.isNegative() || stepTimeout.isZero() || resumeRetry.isNegative() || resumeRetry.isZero()) {
        throw new IllegalArgumentException(
            "a move's step timeout and resume retry must be positive, got " + stepTimeout + " and " + resumeRetry);
      }
      if (holdBeforeRestore.isNegative()) {
        throw new IllegalArgumentException("a move's hold before restore must not be negative, got " + holdBeforeRestore);
      }
    }

    Duration pauseRetry() {
      return resumeRetry.multipliedBy(5);
    }
  }

  /**
   * The time an input arrives at. Deadlines are reckoned on {@code monotonicMillis} (a clock that
   * never jumps, such as {@code System.nanoTime()}, with an arbitrary origin: only differences count,
   * and only within one manager's life, as no deadline is persisted); {@code wallMillis} (epoch
   * millis) only stamps the events, which the report shows.
   */
  public record Now(long monotonicMillis, long wallMillis) {
    /** One clock for both, as a simulated clock is. */
    public static Now at(long millis) {
      return new Now(millis, millis);
    }
  }

  // ---- events: the persisted facts ---------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    MigrationId id();

    long atMillis();
  }

  /** {@code nodes} downstream-first, the order they are paused in; {@code from}: each node's site. */
  public record MigrationStarted(MigrationId id, QueryId query, List<NodeId> nodes, Map<NodeId, Site> from, Site to, long atMillis)
      implements Event {
    public MigrationStarted {
      nodes = List.copyOf(nodes);
      from = sorted(from);
    }
  }

  /** Every node of the migration is paused; its checkpoints (sequence numbers) by node. */
  public record MigrationPaused(MigrationId id, Map<NodeId, Long> checkpoints, long atMillis) implements Event {
    public MigrationPaused {
      checkpoints = sorted(checkpoints);
    }
  }

  /** The nodes' sites changed: forward to the target, or back to the source on rollback. */
  public record NodesPlaced(MigrationId id, Map<NodeId, Site> sites, boolean rollback, String reason, long atMillis) implements Event {
    public NodesPlaced {
      sites = sorted(sites);
    }
  }

  public record MigrationFinished(MigrationId id, Outcome outcome, long atMillis) implements Event {}

  /** The persisted phase of a move: what a restarted manager rolls forward or back from. */
  public enum Stage {
    STARTED,
    PAUSED,
    PLACED,
    ROLLING_BACK,
    ENDED
  }

  /** A migration as recorded: the state its events build. */
  public record Move(
      MigrationId id, QueryId query, List<NodeId> nodes, Map<NodeId, Site> from, Site to, Stage stage,
      Map<NodeId, Long> checkpoints, Outcome outcome, String reason, List<Step> steps, long startedAtMillis, long endedAtMillis)
      implements CborSerializable {

    public Move {
      nodes = List.copyOf(nodes);
      steps = List.copyOf(steps);
    }

    public static Move started(MigrationStarted s) {
      return new Move(s.id(), s.query(), s.nodes(), s.from(), s.to(), Stage.STARTED, Map.of(), Outcome.RUNNING, "", List.of(),
          s.atMillis(), 0);
    }

    /** The move after {@code event}, one of its own. */
    public Move apply(Event event) {
      if (!event.id().equals(id)) {
        throw new IllegalArgumentException("event of migration " + event.id() + " applied to migration " + id);
      }
      if (event instanceof MigrationPaused p) {
        return next(Stage.PAUSED, outcome, reason, step(StepName.STOP, p.atMillis(), "checkpoints " + p.checkpoints()),
            p.checkpoints(), 0);
      } else if (event instanceof NodesPlaced n) {
        String detail = (n.rollback() ? "back to " : "to ") + n.sites() + (n.reason().isEmpty() ? "" : ": " + n.reason());
        return next(n.rollback() ? Stage.ROLLING_BACK : Stage.PLACED, outcome, n.reason(),
            step(n.rollback() ? StepName.ROLLBACK : StepName.RELOCATE, n.atMillis(), detail), checkpoints, 0);
      } else if (event instanceof MigrationFinished f) {
        return next(Stage.ENDED, f.outcome(), reason, step(StepName.RESTORE, f.atMillis(), "resumed"), checkpoints, f.atMillis());
      }
      throw new IllegalArgumentException("migration " + id + " has started already: " + event);
    }

    public boolean active() {
      return outcome == Outcome.RUNNING;
    }

    /** The report users see; {@code sitesNow}: where each node is placed now. */
    public MigrationReport report(Map<NodeId, Site> sitesNow) {
      Map<NodeId, Site> sites = new LinkedHashMap<>();
      for (NodeId n : nodes) {
        Site s = sitesNow.get(n);
        if (s != null) {
          sites.put(n, s);
        }
      }
      return new MigrationReport(id, query, nodes, from, to, outcome, reason, steps, sorted(sites), startedAtMillis, endedAtMillis);
    }

    private Step step(StepName name, long atMillis, String detail) {
      long last = steps.isEmpty() ? startedAtMillis : steps.get(steps.size() - 1).atMillis();
      return new Step(name, atMillis, atMillis - last, detail);
    }

    private Move next(Stage stage, Outcome outcome, String reason, Step step, Map<NodeId, Long> checkpoints, long endedAt) {
      List<Step> s = new ArrayList<>(steps);
      s.add(step);
      return new Move(id, query, nodes, from, to, stage, checkpoints, outcome, reason, s, startedAtMillis, endedAt);
    }
  }

  // ---- phases: what a running move waits for -----------------------------------------------

  /** Exactly one at a time; not persisted ({@link #recover} derives it from the {@link Stage}). */
  public sealed interface Phase {}

  /**
   * Pausing {@code waitingFor}; {@code failure} set means roll back at the next timer. Deadlines and
   * resume times in phases are on the monotonic clock ({@link Now#monotonicMillis}).
   */
  public record Stopping(Set<NodeId> waitingFor, Map<NodeId, Long> checkpoints, long deadlineMillis, Optional<String> failure)
      implements Phase {}

  /** Placed at the target; resuming {@code waitingFor} there from {@code resumeAtMillis} on. */
  public record Restoring(Set<NodeId> waitingFor, long resumeAtMillis, long deadlineMillis) implements Phase {}

  /** Placed back at the source; resuming {@code waitingFor} there. Never gives up: a node must not stay paused. */
  public record RollingBack(Set<NodeId> waitingFor, long resumeAtMillis) implements Phase {}

  public record Ended(Outcome outcome) implements Phase {}

  // ---- inputs ------------------------------------------------------------------------------

  public sealed interface Input {}

  /** A node paused, its checkpoint at {@code seqNr}. */
  public record PausedAt(NodeId node, long seqNr) implements Input {}

  /** A node resumed where it is placed now. */
  public record ResumedAt(NodeId node) implements Input {}

  /** A node has no deployment yet (just deployed, or restarting): it is asked again. */
  public record NotRunning(NodeId node) implements Input {}

  /** A node refused to pause (or gave an answer the step cannot use), for {@code reason}. */
  public record Refused(NodeId node, String reason) implements Input {}

  /**
   * A node did not pause because migration {@code ended}, which the shell's records say has ended,
   * still holds it paused (its pause landed after its last resume): the process has the shell
   * resume the node for that migration, and the next timer asks it to pause again.
   */
  public record HeldByEnded(NodeId node, MigrationId ended) implements Input {}

  /** An ask got no answer in time; the next timer asks again. */
  public record AskLost(NodeId node, String failure) implements Input {}

  /** The move's timer (the last {@link StartTimer}) expired. */
  public record TimerFired() implements Input {}

  // ---- effects: what the shell does once the decision's events are persisted ----------------

  public sealed interface Effect {}

  /** Ask {@code node} to pause for this migration; its answer comes back as an {@link Input}. */
  public record AskPause(NodeId node) implements Effect {}

  /** Resume {@code node} where it runs now for migration {@code ended}, which is over but holds it paused. */
  public record ClearPause(NodeId node, MigrationId ended) implements Effect {}

  /** Write the shard locations of nodes whose site changed (the event already moved them). */
  public record WriteLocations(Map<NodeId, Site> sites) implements Effect {}

  /**
   * Ask {@code node} to resume at a member of {@code site} once it has recovered up to {@code
   * checkpointSeqNr}; a shell whose location there is not written yet skips it (the timer asks again).
   */
  public record AskResume(NodeId node, Site site, long checkpointSeqNr) implements Effect {}

  /** (Re)start this migration's one timer; it replaces any earlier one. */
  public record StartTimer(Duration delay) implements Effect {}

  /** The move has ended: cancel its timer and answer whoever asked for it. */
  public record Finish(Outcome outcome) implements Effect {}

  /** Persist {@code events} (in one write), then carry out {@code effects} in order. */
  public record Decision(List<Event> events, List<Effect> effects) {
    public static final Decision NONE = new Decision(List.of(), List.of());

    public Decision {
      events = List.copyOf(events);
      effects = List.copyOf(effects);
    }
  }

  /** A new or recovered process and what it decided first. */
  public record Begun(MoveProcess process, Decision decision) {}

  // ---- the process -------------------------------------------------------------------------

  private final Settings settings;
  private Move move;
  private Phase phase;

  private MoveProcess(Settings settings, Move move, Phase phase) {
    this.settings = settings;
    this.move = move;
    this.phase = phase;
  }

  /**
   * Starts a move that the caller has checked (the nodes exist, are not moving, may run at {@code
   * to}); {@code nodes} downstream-first, {@code from} each node's site now.
   */
  public static Begun start(
      MigrationId id, QueryId query, List<NodeId> nodes, Map<NodeId, Site> from, Site to, Settings settings, Now now) {
    if (nodes.isEmpty()) {
      throw new IllegalArgumentException("migration " + id + " moves no node");
    }
    if (!from.keySet().equals(Set.copyOf(nodes))) {
      throw new IllegalArgumentException("migration " + id + ": sources " + from + " do not name exactly the nodes " + nodes);
    }
    MigrationStarted started = new MigrationStarted(id, query, nodes, from, to, now.wallMillis());
    MoveProcess p = new MoveProcess(settings, Move.started(started),
        new Stopping(ordered(nodes), Map.of(), now.monotonicMillis() + settings.stepTimeout().toMillis(), Optional.empty()));
    return new Begun(p, new Decision(List.of(started), p.askPauses(now)));
  }

  /**
   * A move the previous manager left running: forward if its nodes were placed at the target
   * already, back otherwise; either way its nodes end up resumed. The first timer (at once) acts.
   */
  public static Begun recover(Move move, Settings settings, Now now) {
    long nowMillis = now.monotonicMillis();
    Set<NodeId> all = ordered(move.nodes());
    Phase phase = switch (move.stage()) {
      case STARTED, PAUSED -> new Stopping(all, Map.of(), nowMillis + settings.stepTimeout().toMillis(),
          Optional.of("the placement manager restarted before the nodes were relocated"));
      case PLACED -> new Restoring(all, nowMillis, nowMillis + settings.stepTimeout().toMillis());
      case ROLLING_BACK -> new RollingBack(all, nowMillis);
      case ENDED -> throw new IllegalArgumentException("migration " + move.id() + " has ended; nothing to recover");
    };
    return new Begun(new MoveProcess(settings, move, phase), new Decision(List.of(), List.of(new StartTimer(Duration.ZERO))));
  }

  public Move move() {
    return move;
  }

  public Phase phase() {
    return phase;
  }

  /** True once the move has ended: every later input is ignored. */
  public boolean ended() {
    return phase instanceof Ended;
  }

  /** What to do about {@code input}, arriving at {@code now}; the process moves on at once. */
  public Decision on(Input input, Now now) {
    if (phase instanceof Stopping s) {
      return stopping(s, input, now);
    } else if (phase instanceof Restoring r) {
      return restoring(r, input, now);
    } else if (phase instanceof RollingBack b) {
      return rollingBack(b, input, now);
    }
    return Decision.NONE;
  }

  private Decision stopping(Stopping s, Input input, Now now) {
    if (input instanceof PausedAt p) {
      if (s.failure().isPresent() || !s.waitingFor().contains(p.node())) {
        return Decision.NONE; // a repeated answer, or one that comes after the step failed
      }
      Set<NodeId> waiting = new LinkedHashSet<>(s.waitingFor());
      waiting.remove(p.node());
      Map<NodeId, Long> checkpoints = new LinkedHashMap<>(s.checkpoints());
      checkpoints.put(p.node(), p.seqNr());
      if (!waiting.isEmpty()) {
        phase = new Stopping(Collections.unmodifiableSet(waiting), Collections.unmodifiableMap(checkpoints), s.deadlineMillis(),
            s.failure());
        return Decision.NONE;
      }
      return relocate(checkpoints, now);
    }
    if (input instanceof Refused r) {
      return s.failure().isPresent() ? Decision.NONE : rollBack("could not stop: " + r.reason(), now);
    }
    if (input instanceof HeldByEnded h) {
      return s.failure().isPresent() || !s.waitingFor().contains(h.node())
          ? Decision.NONE
          : new Decision(List.of(), List.of(new ClearPause(h.node(), h.ended())));
    }
    if (input instanceof TimerFired) {
      if (s.failure().isEmpty() && !expired(s.deadlineMillis(), now)) {
        return new Decision(List.of(), askPauses(now));
      }
      return rollBack(s.failure().orElse("nodes " + s.waitingFor() + " did not stop within " + settings.stepTimeout()), now);
    }
    return Decision.NONE; // not running yet, a lost ask, a stale resume: the timer asks again
  }

  private List<Effect> askPauses(Now now) {
    Stopping s = (Stopping) phase;
    List<Effect> effects = new ArrayList<>();
    s.waitingFor().forEach(n -> effects.add(new AskPause(n)));
    effects.add(new StartTimer(untilNext(settings.pauseRetry(), s.deadlineMillis(), now)));
    return effects;
  }

  /** A step's deadline has passed: the one comparison every phase uses. */
  private static boolean expired(long deadlineMillis, Now now) {
    return now.monotonicMillis() >= deadlineMillis;
  }

  /** The next retry, or the deadline if that comes first: a step never overshoots its deadline by a retry period. */
  private static Duration untilNext(Duration retry, long deadlineMillis, Now now) {
    return Duration.ofMillis(Math.max(0, Math.min(retry.toMillis(), deadlineMillis - now.monotonicMillis())));
  }

  /** Every node paused: record the checkpoints and the target sites in one write, then restore. */
  private Decision relocate(Map<NodeId, Long> checkpoints, Now now) {
    Map<NodeId, Site> target = new LinkedHashMap<>();
    move.nodes().forEach(n -> target.put(n, move.to()));
    MigrationPaused paused = new MigrationPaused(move.id(), checkpoints, now.wallMillis());
    NodesPlaced placed = new NodesPlaced(move.id(), target, false, "", now.wallMillis());
    move = move.apply(paused).apply(placed);
    long hold = settings.holdBeforeRestore().toMillis();
    long mono = now.monotonicMillis();
    phase = new Restoring(ordered(move.nodes()), mono + hold, mono + hold + settings.stepTimeout().toMillis());
    return new Decision(List.of(paused, placed), resumeAfterPlacing(placed.sites(), now));
  }

  /** Puts the nodes back at their source sites and resumes them there. */
  private Decision rollBack(String reason, Now now) {
    NodesPlaced back = new NodesPlaced(move.id(), move.from(), true, reason, now.wallMillis());
    move = move.apply(back);
    phase = new RollingBack(ordered(move.nodes()), now.monotonicMillis() + settings.holdBeforeRestore().toMillis());
    return new Decision(List.of(back), resumeAfterPlacing(back.sites(), now));
  }

  private List<Effect> resumeAfterPlacing(Map<NodeId, Site> sites, Now now) {
    List<Effect> effects = new ArrayList<>();
    effects.add(new WriteLocations(sites));
    if (settings.holdBeforeRestore().isZero()) {
      effects.addAll(askResumes(now));
    } else {
      effects.add(new StartTimer(settings.holdBeforeRestore()));
    }
    return effects;
  }

  private List<Effect> askResumes(Now now) {
    Set<NodeId> waiting = phase instanceof Restoring r ? r.waitingFor() : ((RollingBack) phase).waitingFor();
    Map<NodeId, Site> sites = phase instanceof Restoring ? null : move.from();
    List<Effect> effects = new ArrayList<>();
    for (NodeId n : waiting) {
      effects.add(new AskResume(n, sites == null ? move.to() : sites.get(n), move.checkpoints().getOrDefault(n, 0L)));
    }
    // Restoring has a deadline; a rollback has none (it never gives up).
    effects.add(new StartTimer(phase instanceof Restoring r
        ? untilNext(settings.resumeRetry(), r.deadlineMillis(), now)
        : settings.resumeRetry()));
    return effects;
  }

  private Decision restoring(Restoring r, Input input, Now now) {
    if (input instanceof ResumedAt a) {
      if (!r.waitingFor().contains(a.node())) {
        return Decision.NONE;
      }
      Set<NodeId> waiting = without(r.waitingFor(), a.node());
      if (waiting.isEmpty()) {
        return finish(Outcome.COMPLETED, now);
      }
      phase = new Restoring(waiting, r.resumeAtMillis(), r.deadlineMillis());
      return Decision.NONE;
    }
    if (input instanceof TimerFired) {
      if (expired(r.deadlineMillis(), now)) {
        return rollBack(
            "nodes " + r.waitingFor() + " did not resume at site '" + move.to() + "' within " + settings.stepTimeout(), now);
      }
      if (now.monotonicMillis() < r.resumeAtMillis()) {
        return new Decision(List.of(), List.of(new StartTimer(Duration.ofMillis(r.resumeAtMillis() - now.monotonicMillis()))));
      }
      return new Decision(List.of(), askResumes(now));
    }
    return Decision.NONE; // not resumed yet (its location is not written, its recovery lags): asked again
  }

  private Decision rollingBack(RollingBack b, Input input, Now now) {
    if (input instanceof ResumedAt a) {
      if (!b.waitingFor().contains(a.node())) {
        return Decision.NONE;
      }
      Set<NodeId> waiting = without(b.waitingFor(), a.node());
      if (waiting.isEmpty()) {
        return finish(Outcome.ROLLED_BACK, now);
      }
      phase = new RollingBack(waiting, b.resumeAtMillis());
      return Decision.NONE;
    }
    if (input instanceof TimerFired) {
      if (now.monotonicMillis() < b.resumeAtMillis()) {
        return new Decision(List.of(), List.of(new StartTimer(Duration.ofMillis(b.resumeAtMillis() - now.monotonicMillis()))));
      }
      return new Decision(List.of(), askResumes(now));
    }
    return Decision.NONE;
  }

  private Decision finish(Outcome outcome, Now now) {
    MigrationFinished finished = new MigrationFinished(move.id(), outcome, now.wallMillis());
    move = move.apply(finished);
    phase = new Ended(outcome);
    return new Decision(List.of(finished), List.of(new Finish(outcome)));
  }

  private static Set<NodeId> ordered(List<NodeId> nodes) {
    return Collections.unmodifiableSet(new LinkedHashSet<>(nodes));
  }

  private static Set<NodeId> without(Set<NodeId> set, NodeId node) {
    Set<NodeId> s = new LinkedHashSet<>(set);
    s.remove(node);
    return Collections.unmodifiableSet(s);
  }

  /** A copy ordered by node id, so details, logs and simulator traces do not depend on hashing. */
  static <V> Map<NodeId, V> sorted(Map<NodeId, V> m) {
    List<NodeId> keys = new ArrayList<>(m.keySet());
    keys.sort(Comparator.comparing(NodeId::value));
    Map<NodeId, V> out = new LinkedHashMap<>();
    keys.forEach(k -> out.put(k, m.get(k)));
    return Collections.unmodifiableMap(out);
  }
}
