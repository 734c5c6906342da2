package io.ferry.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.placement.MigrationReport.Outcome;
import io.ferry.placement.MigrationReport.StepName;
import io.ferry.placement.MoveProcess.AskLost;
import io.ferry.placement.MoveProcess.AskPause;
import io.ferry.placement.MoveProcess.AskResume;
import io.ferry.placement.MoveProcess.Decision;
import io.ferry.placement.MoveProcess.Effect;
import io.ferry.placement.MoveProcess.Ended;
import io.ferry.placement.MoveProcess.Event;
import io.ferry.placement.MoveProcess.Finish;
import io.ferry.placement.MoveProcess.MigrationFinished;
import io.ferry.placement.MoveProcess.MigrationPaused;
import io.ferry.placement.MoveProcess.MigrationStarted;
import io.ferry.placement.MoveProcess.Move;
import io.ferry.placement.MoveProcess.NodesPlaced;
import io.ferry.placement.MoveProcess.NotRunning;
import io.ferry.placement.MoveProcess.Now;
import io.ferry.placement.MoveProcess.PausedAt;
import io.ferry.placement.MoveProcess.Refused;
import io.ferry.placement.MoveProcess.Restoring;
import io.ferry.placement.MoveProcess.ResumedAt;
import io.ferry.placement.MoveProcess.RollingBack;
import io.ferry.placement.MoveProcess.Stage;
import io.ferry.placement.MoveProcess.StartTimer;
import io.ferry.placement.MoveProcess.Stopping;
import io.ferry.placement.MoveProcess.TimerFired;
import io.ferry.placement.MoveProcess.WriteLocations;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MoveProcessTest {
  private static final MoveProcess.Settings SETTINGS =
      new MoveProcess.Settings(Duration.ofSeconds(10), Duration.ofMillis(20), Duration.ZERO);
  private static final MigrationId ID = new MigrationId("m-1");
  private static final QueryId Q = new QueryId("q1");
  private static final NodeId WINDOW = new NodeId("window-a");
  private static final NodeId SINK = new NodeId("sink");
  private static final Site EDGE = Site.of("edge-a");
  private static final Site CLOUD = Site.of("cloud");
  private static final TimerFired TIMER = new TimerFired();

  /** The process plus the persisted record a shell keeps by applying the events it persists. */
  private static final class Shell {
    final MoveProcess process;
    Move recorded;
    final List<Effect> effects = new ArrayList<>();

    Shell(MoveProcess.Begun begun) {
      process = begun.process();
      Decision d = begun.decision();
      recorded = Move.started((MigrationStarted) d.events().get(0));
      effects.addAll(d.effects());
    }

    Shell(Move recorded, MoveProcess.Begun begun) {
      this.process = begun.process();
      this.recorded = recorded;
      effects.addAll(begun.decision().effects());
    }

    /** An input at {@code now} on one clock for both deadlines and event stamps. */
    Decision on(MoveProcess.Input in, long now) {
      return on(in, Now.at(now));
    }

    Decision on(MoveProcess.Input in, Now now) {
      Decision d = process.on(in, now);
      for (Event e : d.events()) {
        recorded = recorded.apply(e);
      }
      effects.clear();
      effects.addAll(d.effects());
      return d;
    }
  }

  private static Shell start(List<NodeId> nodes) {
    Map<NodeId, Site> from = nodes.size() == 1 ? Map.of(nodes.get(0), EDGE) : Map.of(nodes.get(0), EDGE, nodes.get(1), EDGE);
    return new Shell(MoveProcess.start(ID, Q, nodes, from, CLOUD, SETTINGS, Now.at(1000)));
  }

  @Test
  void aMoveStopsRelocatesAndRestores() {
    Shell s = start(List.of(SINK, WINDOW));
    assertEquals(List.of(new AskPause(SINK), new AskPause(WINDOW), new StartTimer(Duration.ofMillis(100))), s.effects);
    assertInstanceOf(Stopping.class, s.process.phase());

    assertEquals(Decision.NONE, s.on(new PausedAt(SINK, 7), 1010));
    Decision relocated = s.on(new PausedAt(WINDOW, 12), 1020);
    assertEquals(2, relocated.events().size());
    assertEquals(new MigrationPaused(ID, Map.of(SINK, 7L, WINDOW, 12L), 1020), relocated.events().get(0));
    assertEquals(new NodesPlaced(ID, Map.of(SINK, CLOUD, WINDOW, CLOUD), false, "", 1020), relocated.events().get(1));
    assertEquals(
        List.of(new WriteLocations(Map.of(SINK, CLOUD, WINDOW, CLOUD)), new AskResume(SINK, CLOUD, 7), new AskResume(WINDOW, CLOUD, 12),
            new StartTimer(Duration.ofMillis(20))),
        relocated.effects());
    assertEquals(Stage.PLACED, s.recorded.stage());
    assertInstanceOf(Restoring.class, s.process.phase());

    assertEquals(Decision.NONE, s.on(new ResumedAt(WINDOW), 1030));
    Decision done = s.on(new ResumedAt(SINK), 1050);
    assertEquals(List.of(new MigrationFinished(ID, Outcome.COMPLETED, 1050)), done.events());
    assertEquals(List.of(new Finish(Outcome.COMPLETED)), done.effects());
    assertEquals(new Ended(Outcome.COMPLETED), s.process.phase());

    MigrationReport r = s.recorded.report(Map.of(WINDOW, CLOUD, SINK, CLOUD));
    assertEquals(Outcome.COMPLETED, r.outcome());
    assertEquals(List.of(StepName.STOP, StepName.RELOCATE, StepName.RESTORE), r.steps().stream().map(MigrationReport.Step::name).toList());
    assertEquals(List.of(20L, 0L, 30L), r.steps().stream().map(MigrationReport.Step::durationMillis).toList());
    assertEquals("checkpoints {sink=7, window-a=12}", r.steps().get(0).detail());
    assertEquals("to {sink=cloud, window-a=cloud}", r.steps().get(1).detail());
    assertEquals(50, r.pauseMillis());
    assertEquals(s.recorded, s.process.move(), "the shell's record and the process's agree");
  }

  @Test
  void aNodeNotRunningYetOrALostAskIsAskedAgainAtTheNextTimer() {
    Shell s = start(List.of(WINDOW));
    assertEquals(Decision.NONE, s.on(new NotRunning(WINDOW), 1001));
    assertEquals(Decision.NONE, s.on(new AskLost(WINDOW, "ask timed out"), 1002));
    Decision again = s.on(TIMER, 1100);
    assertEquals(List.of(new AskPause(WINDOW), new StartTimer(Duration.ofMillis(100))), again.effects());
    assertTrue(again.events().isEmpty());
  }

  @Test
  void aNodeThatDoesNotStopInTimeRollsTheMoveBack() {
    Shell s = start(List.of(SINK, WINDOW));
    s.on(new PausedAt(SINK, 3), 1010);
    Decision back = s.on(TIMER, 11_000);
    NodesPlaced placed = (NodesPlaced) back.events().get(0);
    assertTrue(placed.rollback());
    assertEquals(Map.of(SINK, EDGE, WINDOW, EDGE), placed.sites());
    assertEquals("nodes [window-a] did not stop within PT10S", placed.reason());
    // Not relocated, so no checkpoint was recorded: the nodes resume where they are.
    assertEquals(List.of(new WriteLocations(Map.of(SINK, EDGE, WINDOW, EDGE)), new AskResume(SINK, EDGE, 0), new AskResume(WINDOW, EDGE, 0),
        new StartTimer(Duration.ofMillis(20))), back.effects());
    assertInstanceOf(RollingBack.class, s.process.phase());
    assertEquals(Decision.NONE, s.on(new PausedAt(WINDOW, 4), 11_001), "a pause after the rollback changes nothing");
    s.on(new ResumedAt(SINK), 11_010);
    Decision end = s.on(new ResumedAt(WINDOW), 11_020);
    assertEquals(List.of(new Finish(Outcome.ROLLED_BACK)), end.effects());
    MigrationReport r = s.recorded.report(Map.of(SINK, EDGE, WINDOW, EDGE));
    assertEquals(Outcome.ROLLED_BACK, r.outcome());
    assertEquals("nodes [window-a] did not stop within PT10S", r.reason());
    assertEquals(List.of(StepName.ROLLBACK, StepName.RESTORE), r.steps().stream().map(MigrationReport.Step::name).toList());
    assertEquals("back to {sink=edge-a, window-a=edge-a}: nodes [window-a] did not stop within PT10S", r.steps().get(0).detail());
  }

  @Test
  void aNodeHeldByAnEndedMigrationIsResumedForItAndAskedAgain() {
    Shell s = start(List.of(WINDOW));
    MigrationId old = new MigrationId("m-0");
    Decision clear = s.on(new MoveProcess.HeldByEnded(WINDOW, old), 1005);
    assertEquals(new Decision(List.of(), List.of(new MoveProcess.ClearPause(WINDOW, old))), clear);
    assertInstanceOf(Stopping.class, s.process.phase(), "no rollback: the node is free once the old pause is cleared");
    assertEquals(List.of(new AskPause(WINDOW), new StartTimer(Duration.ofMillis(100))), s.on(TIMER, 1100).effects());
    s.on(new PausedAt(WINDOW, 4), 1110);
    assertInstanceOf(Restoring.class, s.process.phase());
  }

  @Test
  void deadlinesFollowTheMonotonicClockAndEventsTheWallClock() {
    long mono = 5_000;
    long wall = 1_700_000_000_000L;
    Shell s = new Shell(MoveProcess.start(ID, Q, List.of(WINDOW), Map.of(WINDOW, EDGE), CLOUD, SETTINGS, new Now(mono, wall)));
    // The wall clock jumps an hour ahead (NTP, a VM resumed): the 10 s step has not run out.
    long jumped = wall + 3_600_000;
    assertEquals(List.of(new AskPause(WINDOW), new StartTimer(Duration.ofMillis(100))), s.on(TIMER, new Now(mono + 100, jumped)).effects());
    Decision relocated = s.on(new PausedAt(WINDOW, 3), new Now(mono + 150, jumped + 50));
    assertEquals(new MigrationPaused(ID, Map.of(WINDOW, 3L), jumped + 50), relocated.events().get(0), "events carry the wall clock");
    // The wall clock jumps back: the restore step's deadline is not pushed out by it.
    Decision back = s.on(TIMER, new Now(mono + 150 + 10_001, wall - 3_600_000));
    assertTrue(((NodesPlaced) back.events().get(0)).rollback(), "the restore deadline ran out on the monotonic clock");
  }

  @Test
  void noStepOvershootsItsDeadlineByARetryPeriod() {
    // A pause retry (5 × 300 ms) longer than the step (1 s): the timer comes at the deadline.
    MoveProcess.Settings slowRetry = new MoveProcess.Settings(Duration.ofSeconds(1), Duration.ofMillis(300), Duration.ZERO);
    Shell s = new Shell(MoveProcess.start(ID, Q, List.of(WINDOW), Map.of(WINDOW, EDGE), CLOUD, slowRetry, Now.at(0)));
    assertEquals(List.of(new AskPause(WINDOW), new StartTimer(Duration.ofMillis(1000))), s.effects);
    assertTrue(((NodesPlaced) s.on(TIMER, 1000).events().get(0)).rollback(), "the stop step ends at its deadline, not 500 ms later");

    // Restore: the last retry timer is cut to the deadline, and the deadline itself has expired.
    Shell r = new Shell(MoveProcess.start(ID, Q, List.of(WINDOW), Map.of(WINDOW, EDGE), CLOUD, slowRetry, Now.at(0)));
    r.on(new PausedAt(WINDOW, 1), 10); // restore deadline: 1010
    assertEquals(List.of(new AskResume(WINDOW, CLOUD, 1), new StartTimer(Duration.ofMillis(110))), r.on(TIMER, 900).effects());
    assertTrue(((NodesPlaced) r.on(TIMER, 1010).events().get(0)).rollback(), "stop and restore compare with the deadline alike");
  }

  @Test
  void aRefusalToStopRollsBackAtOnce() {
    Shell s = start(List.of(WINDOW));
    Decision back = s.on(new Refused(WINDOW, "already paused by migration m-0"), 1005);
    assertEquals("could not stop: already paused by migration m-0", ((NodesPlaced) back.events().get(0)).reason());
    assertEquals(Stage.ROLLING_BACK, s.recorded.stage());
  }

  @Test
  void nodesThatDoNotResumeAtTheTargetInTimeRollBackWithTheirCheckpoints() {
    Shell s = start(List.of(WINDOW));
    s.on(new PausedAt(WINDOW, 9), 1010);
    assertEquals(List.of(new AskResume(WINDOW, CLOUD, 9), new StartTimer(Duration.ofMillis(20))), s.on(TIMER, 5000).effects());
    Decision back = s.on(TIMER, 11_011);
    NodesPlaced placed = (NodesPlaced) back.events().get(0);
    assertEquals("nodes [window-a] did not resume at site 'cloud' within PT10S", placed.reason());
    assertEquals(List.of(new WriteLocations(Map.of(WINDOW, EDGE)), new AskResume(WINDOW, EDGE, 9), new StartTimer(Duration.ofMillis(20))),
        back.effects());
    // A rollback never gives up.
    assertEquals(List.of(new AskResume(WINDOW, EDGE, 9), new StartTimer(Duration.ofMillis(20))), s.on(TIMER, 999_999).effects());
    assertEquals(Decision.NONE, s.on(new Refused(WINDOW, "runs at elsewhere"), 1_000_000));
    assertEquals(List.of(new Finish(Outcome.ROLLED_BACK)), s.on(new ResumedAt(WINDOW), 1_000_001).effects());
  }

  @Test
  void aHoldBeforeRestoreDelaysTheResumeAndTheDeadline() {
    MoveProcess.Settings held = new MoveProcess.Settings(Duration.ofSeconds(10), Duration.ofMillis(20), Duration.ofSeconds(3));
    Shell s = new Shell(MoveProcess.start(ID, Q, List.of(WINDOW), Map.of(WINDOW, EDGE), CLOUD, held, Now.at(0)));
    Decision placed = s.on(new PausedAt(WINDOW, 1), 100);
    assertEquals(List.of(new WriteLocations(Map.of(WINDOW, CLOUD)), new StartTimer(Duration.ofSeconds(3))), placed.effects());
    assertEquals(List.of(new StartTimer(Duration.ofMillis(1000))), s.on(TIMER, 2100).effects(), "an early timer waits out the hold");
    assertEquals(List.of(new AskResume(WINDOW, CLOUD, 1), new StartTimer(Duration.ofMillis(20))), s.on(TIMER, 3100).effects());
    assertTrue(s.on(TIMER, 13_099).events().isEmpty(), "the deadline counts from the end of the hold");
    assertTrue(((NodesPlaced) s.on(TIMER, 13_100).events().get(0)).rollback());
  }

  @Test
  void repeatedAndStrayRepliesAreIgnored() {
    Shell s = start(List.of(SINK, WINDOW));
    s.on(new PausedAt(SINK, 5), 1001);
    assertEquals(Decision.NONE, s.on(new PausedAt(SINK, 6), 1002), "a second pause answer");
    assertEquals(Decision.NONE, s.on(new ResumedAt(SINK), 1003), "a resume answer while stopping");
    assertEquals(Decision.NONE, s.on(new PausedAt(new NodeId("other"), 1), 1004), "a node not in the move");
    s.on(new PausedAt(WINDOW, 8), 1005);
    assertEquals(Map.of(SINK, 5L, WINDOW, 8L), s.recorded.checkpoints(), "the first answer's checkpoint counts");
    assertEquals(Decision.NONE, s.on(new PausedAt(WINDOW, 8), 1006), "a pause answer after relocation");
    s.on(new ResumedAt(WINDOW), 1007);
    assertEquals(Decision.NONE, s.on(new ResumedAt(WINDOW), 1008), "a second resume answer");
    s.on(new ResumedAt(SINK), 1009);
    for (MoveProcess.Input late : List.of(new ResumedAt(SINK), TIMER, new Refused(SINK, "x"), new PausedAt(SINK, 1))) {
      assertEquals(Decision.NONE, s.on(late, 2000), "after the end: " + late);
    }
    assertEquals(new Ended(Outcome.COMPLETED), s.process.phase());
  }

  @Test
  void aManagerRestartedAfterPlacementRollsForward() {
    Shell before = start(List.of(WINDOW));
    before.on(new PausedAt(WINDOW, 4), 1010);
    Shell after = new Shell(before.recorded, MoveProcess.recover(before.recorded, SETTINGS, Now.at(50_000)));
    assertEquals(List.of(new StartTimer(Duration.ZERO)), after.effects);
    assertEquals(List.of(new AskResume(WINDOW, CLOUD, 4), new StartTimer(Duration.ofMillis(20))), after.on(TIMER, 50_000).effects());
    assertEquals(List.of(new Finish(Outcome.COMPLETED)), after.on(new ResumedAt(WINDOW), 50_010).effects());
    assertEquals(Outcome.COMPLETED, after.recorded.outcome());
  }

  @Test
  void aManagerRestartedBeforePlacementRollsBack() {
    Shell before = start(List.of(WINDOW));
    Shell after = new Shell(before.recorded, MoveProcess.recover(before.recorded, SETTINGS, Now.at(50_000)));
    assertEquals(Decision.NONE, after.on(new PausedAt(WINDOW, 2), 50_001), "a late pause answer does not relocate");
    Decision back = after.on(TIMER, 50_002);
    NodesPlaced placed = (NodesPlaced) back.events().get(0);
    assertEquals("the placement manager restarted before the nodes were relocated", placed.reason());
    assertEquals(Map.of(WINDOW, EDGE), placed.sites());
    assertEquals(List.of(new Finish(Outcome.ROLLED_BACK)), after.on(new ResumedAt(WINDOW), 50_010).effects());
  }

  @Test
  void aManagerRestartedDuringARollbackKeepsRollingBack() {
    Shell before = start(List.of(WINDOW));
    before.on(new Refused(WINDOW, "no"), 1001);
    Shell after = new Shell(before.recorded, MoveProcess.recover(before.recorded, SETTINGS, Now.at(50_000)));
    assertEquals(List.of(new AskResume(WINDOW, EDGE, 0), new StartTimer(Duration.ofMillis(20))), after.on(TIMER, 50_000).effects());
    assertInstanceOf(RollingBack.class, after.process.phase());
  }

  @Test
  void anEndedMoveIsNotRecoveredAndBadStartsAreRefused() {
    Shell s = start(List.of(WINDOW));
    s.on(new Refused(WINDOW, "no"), 1001);
    s.on(new ResumedAt(WINDOW), 1002);
    assertThrows(IllegalArgumentException.class, () -> MoveProcess.recover(s.recorded, SETTINGS, Now.at(2000)));
    assertThrows(IllegalArgumentException.class, () -> MoveProcess.start(ID, Q, List.of(), Map.of(), CLOUD, SETTINGS, Now.at(0)));
    assertThrows(IllegalArgumentException.class, () -> MoveProcess.start(ID, Q, List.of(WINDOW), Map.of(SINK, EDGE), CLOUD, SETTINGS, Now.at(0)));
    assertThrows(IllegalArgumentException.class, () -> new MoveProcess.Settings(Duration.ZERO, Duration.ofMillis(1), Duration.ZERO));
    assertThrows(IllegalArgumentException.class,
        () -> s.recorded.apply(new MigrationFinished(new MigrationId("m-2"), Outcome.COMPLETED, 0)));
  }

  @Test
  void theProcessIsAlwaysInExactlyOnePhaseAndEveryEventComesOnce() {
    // Drive many interleavings of replies and timers; the record only ever moves forward.
    long[] seeds = {1, 2, 3, 4, 5, 6, 7, 8};
    for (long seed : seeds) {
      java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
      Shell s = start(List.of(SINK, WINDOW));
      long now = 1000;
      List<StepName> steps = new ArrayList<>();
      for (int i = 0; i < 400 && !s.process.ended(); i++) {
        now += random.nextInt(1, 400);
        NodeId n = random.nextBoolean() ? SINK : WINDOW;
        MoveProcess.Input in = switch (random.nextInt(6)) {
          case 0 -> new PausedAt(n, random.nextInt(10));
          case 1 -> new ResumedAt(n);
          case 2 -> new NotRunning(n);
          case 3 -> new AskLost(n, "lost");
          case 4 -> random.nextInt(20) == 0 ? new Refused(n, "no") : TIMER;
          default -> TIMER;
        };
        Stage before = s.recorded.stage();
        Decision d = s.on(in, now);
        d.events().forEach(e -> assertTrue(!(e instanceof MigrationStarted), "started twice"));
        assertTrue(s.recorded.stage().ordinal() >= before.ordinal() || before == Stage.PLACED && s.recorded.stage() == Stage.ROLLING_BACK,
            "stage went from " + before + " to " + s.recorded.stage() + " (seed " + seed + ")");
        assertSame(s.process.move().stage(), s.recorded.stage());
      }
      s.recorded.steps().forEach(st -> steps.add(st.name()));
      assertTrue(steps.stream().filter(x -> x == StepName.RESTORE).count() <= 1, "seed " + seed + ": " + steps);
      assertTrue(steps.stream().filter(x -> x == StepName.ROLLBACK).count() <= 1, "seed " + seed + ": " + steps);
    }
  }

  @Test
  void eventsAndReportsKeepTheirJsonShapeWithIdsAsPlainStrings() throws Exception {
    ObjectMapper json = JsonMapper.builder().build();
    Shell s = start(List.of(WINDOW));
    s.on(new PausedAt(WINDOW, 4), 1010);
    s.on(new ResumedAt(WINDOW), 1020);
    for (Event e : List.<Event>of(
        new MigrationStarted(ID, Q, List.of(WINDOW), Map.of(WINDOW, EDGE), CLOUD, 1),
        new MigrationPaused(ID, Map.of(WINDOW, 4L), 2),
        new NodesPlaced(ID, Map.of(WINDOW, CLOUD), false, "", 3),
        new MigrationFinished(ID, Outcome.COMPLETED, 4))) {
      assertEquals(e, json.readValue(json.writeValueAsBytes(e), e.getClass()));
    }
    assertEquals(s.recorded, json.readValue(json.writeValueAsBytes(s.recorded), Move.class));
    MigrationReport r = s.recorded.report(Map.of(WINDOW, CLOUD));
    String text = json.writeValueAsString(r);
    assertTrue(text.contains("\"id\":\"m-1\",\"query\":\"q1\",\"nodes\":[\"window-a\"],\"from\":{\"window-a\":\"edge-a\"},\"to\":\"cloud\""), text);
    assertTrue(text.contains("\"outcome\":\"COMPLETED\""), text);
    assertTrue(text.contains("{\"name\":\"stop\",\"atMillis\":1010,\"durationMillis\":10,\"detail\":\"checkpoints {window-a=4}\"}"), text);
    assertEquals(r, json.readValue(text, MigrationReport.class));
  }
}
