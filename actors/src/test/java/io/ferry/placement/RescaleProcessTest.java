package io.ferry.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.placement.MigrationReport.Outcome;
import io.ferry.placement.RescaleProcess.AskPauseUpstream;
import io.ferry.placement.RescaleProcess.AskRegroup;
import io.ferry.placement.RescaleProcess.AskReport;
import io.ferry.placement.RescaleProcess.AskResumeUpstream;
import io.ferry.placement.RescaleProcess.Decision;
import io.ferry.placement.RescaleProcess.Effect;
import io.ferry.placement.RescaleProcess.Finish;
import io.ferry.query.KeyGroups;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import io.ferry.query.ops.WindowAcc;
import io.ferry.query.ops.WindowState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every transition of {@link RescaleProcess}, without actors or clocks. */
class RescaleProcessTest {
  static final RescaleProcess.Settings SETTINGS = new RescaleProcess.Settings(Duration.ofMillis(1000), Duration.ofMillis(20), 1000);
  static final NodeId SRC = new NodeId("src");
  static final NodeId W = new NodeId("w");
  static final List<NodeId> INSTANCES = KeyGroups.instanceIds(W, 3);

  static RescaleProcess.RescaleStarted started(int from, int to) {
    return new RescaleProcess.RescaleStarted("r1", new QueryId("q"), "d", W, SRC, INSTANCES, from, to, 100);
  }

  static <T extends Effect> List<T> effects(Decision d, Class<T> type) {
    return d.effects().stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** The state of instance {@code i} at 2 instances: one accumulator of a key it owns. */
  static WindowState state(String key) {
    return new WindowState(500, 0, 0, List.of(new WindowAcc(0, key, 1, List.of(1L), List.of(1L), List.of(0.0))));
  }

  static String keyOwnedBy(int instance, int parallelism) {
    for (int k = 0; ; k++) {
      if (KeyGroups.owner(KeyGroups.group("k" + k), parallelism) == instance) {
        return "k" + k;
      }
    }
  }

  @Test
  void aRescaleCutsWhereEveryInstanceStandsThenRegroupsThenResumes() {
    RescaleProcess.Begun b = RescaleProcess.start(SETTINGS, started(2, 3), MoveProcess.Now.at(0));
    RescaleProcess p = b.process();
    assertEquals(List.of(new AskPauseUpstream(SRC)), effects(b.decision(), AskPauseUpstream.class));
    Decision d = p.on(new RescaleProcess.UpstreamPaused(40, false), MoveProcess.Now.at(5));
    assertEquals(INSTANCES, effects(d, AskReport.class).stream().map(AskReport::instance).toList());
    // Instance 1 is still behind the cut: no cut yet, and the timer asks it again.
    String k0 = keyOwnedBy(0, 2);
    String k1 = keyOwnedBy(1, 2);
    p.on(new RescaleProcess.InstanceReport(INSTANCES.get(0), 40, state(k0)), MoveProcess.Now.at(6));
    p.on(new RescaleProcess.InstanceReport(INSTANCES.get(1), 33, state(k1)), MoveProcess.Now.at(6));
    p.on(new RescaleProcess.InstanceReport(INSTANCES.get(2), 40, new WindowState(500, 0, 0, List.of())), MoveProcess.Now.at(6));
    d = p.on(new RescaleProcess.TimerFired(), MoveProcess.Now.at(26));
    assertEquals(List.of(INSTANCES.get(1)), effects(d, AskReport.class).stream().map(AskReport::instance).toList());
    d = p.on(new RescaleProcess.InstanceReport(INSTANCES.get(1), 40, state(k1)), MoveProcess.Now.at(30));
    RescaleProcess.RescaleCut cut = assertInstanceOf(RescaleProcess.RescaleCut.class, d.events().get(0));
    assertEquals(40, cut.anchor());
    List<AskRegroup> asks = effects(d, AskRegroup.class);
    assertEquals(3, asks.size());
    List<String> keys = new ArrayList<>();
    for (AskRegroup a : asks) {
      int i = INSTANCES.indexOf(a.instance());
      assertEquals(KeyGroups.range(i, 3), a.range());
      assertEquals(40, a.anchor());
      a.state().open().forEach(acc -> {
        assertEquals(i, KeyGroups.owner(KeyGroups.group(acc.key()), 3), acc.key() + " handed to instance " + i);
        keys.add(acc.key());
      });
    }
    assertEquals(List.of(k0, k1).stream().sorted().toList(), keys.stream().sorted().toList(), "every key lands once");
    // One instance took its groups; the others are asked again on the timer, never given up.
    p.on(new RescaleProcess.InstanceRegrouped(INSTANCES.get(0)), MoveProcess.Now.at(31));
    d = p.on(new RescaleProcess.TimerFired(), MoveProcess.Now.at(5_000));
    assertEquals(2, effects(d, AskRegroup.class).size());
    p.on(new RescaleProcess.InstanceRegrouped(INSTANCES.get(1)), MoveProcess.Now.at(5_001));
    d = p.on(new RescaleProcess.InstanceRegrouped(INSTANCES.get(2)), MoveProcess.Now.at(5_002));
    assertInstanceOf(RescaleProcess.InstancesRegrouped.class, d.events().get(0));
    assertEquals(List.of(new AskResumeUpstream(SRC)), effects(d, AskResumeUpstream.class));
    d = p.on(new RescaleProcess.UpstreamResumed(), MoveProcess.Now.at(5_010));
    assertEquals(List.of(new Finish(Outcome.COMPLETED, "")), effects(d, Finish.class));
    RescaleProcess.RescaleReport r = p.rescale().report();
    assertEquals(Outcome.COMPLETED, r.outcome());
    assertEquals(2, r.from());
    assertEquals(3, r.to());
    assertEquals(5_010 - 5, r.pauseMillis());
    assertEquals(5_010 - 100, r.totalMillis());
    assertEquals(KeyGroups.moves(2, 3).size(), r.groupsMoved());
    assertEquals(2, r.entries(), "the figures outlive the states handed over");
  }

  @Test
  void beforeTheCutATimeoutOrARefusalRollsBackByResumingTheUpstream() {
    RescaleProcess p = RescaleProcess.start(SETTINGS, started(2, 3), MoveProcess.Now.at(0)).process();
    Decision d = p.on(new RescaleProcess.TimerFired(), MoveProcess.Now.at(20));
    assertEquals(1, effects(d, AskPauseUpstream.class).size(), "a pause with no answer is asked again");
    p.on(new RescaleProcess.UpstreamPaused(10, false), MoveProcess.Now.at(30));
    p.on(new RescaleProcess.InstanceReport(INSTANCES.get(0), 10, state("a")), MoveProcess.Now.at(31));
    d = p.on(new RescaleProcess.TimerFired(), MoveProcess.Now.at(1000));
    assertEquals(List.of(), d.events(), "nothing was cut: nothing to undo but the pause");
    assertEquals(List.of(new AskResumeUpstream(SRC)), effects(d, AskResumeUpstream.class));
    d = p.on(new RescaleProcess.UpstreamResumed(), MoveProcess.Now.at(1001));
    Finish f = effects(d, Finish.class).get(0);
    assertEquals(Outcome.ROLLED_BACK, f.outcome());
    assertTrue(f.reason().contains("did not reach the cut"), f.reason());

    RescaleProcess q = RescaleProcess.start(SETTINGS, started(2, 1), MoveProcess.Now.at(0)).process();
    d = q.on(new RescaleProcess.UpstreamRefused("paused by m-7", false), MoveProcess.Now.at(1));
    assertEquals(1, effects(d, AskResumeUpstream.class).size());
    RescaleProcess ended = RescaleProcess.start(SETTINGS, started(2, 1), MoveProcess.Now.at(0)).process();
    ended.on(new RescaleProcess.UpstreamPaused(10, true), MoveProcess.Now.at(1));
    d = ended.on(new RescaleProcess.UpstreamResumed(), MoveProcess.Now.at(2));
    assertTrue(effects(d, Finish.class).get(0).reason().contains("has ended"));
  }

  @Test
  void aRestartedManagerRollsBackBeforeTheCutAndForwardAfterIt() {
    RescaleProcess.Rescale r = RescaleProcess.Rescale.started(started(3, 1));
    Decision d = RescaleProcess.recover(SETTINGS, r).decision();
    assertEquals(List.of(new AskResumeUpstream(SRC)), effects(d, AskResumeUpstream.class));

    WindowState s = state("a");
    r = r.apply(new RescaleProcess.RescaleCut("r1", 7, java.util.Map.of(INSTANCES.get(0), s, INSTANCES.get(1), s, INSTANCES.get(2), s), 1, 2));
    RescaleProcess.Begun b = RescaleProcess.recover(SETTINGS, r);
    assertEquals(3, effects(b.decision(), AskRegroup.class).size());
    assertTrue(effects(b.decision(), AskRegroup.class).stream().allMatch(a -> a.anchor() == 7));

    r = r.apply(new RescaleProcess.InstancesRegrouped("r1", 3));
    d = RescaleProcess.recover(SETTINGS, r).decision();
    assertEquals(List.of(new AskResumeUpstream(SRC)), effects(d, AskResumeUpstream.class));
    r = r.apply(new RescaleProcess.RescaleFinished("r1", Outcome.COMPLETED, "", 4));
    assertEquals(List.of(), RescaleProcess.recover(SETTINGS, r).decision().effects());
    assertEquals(java.util.Map.of(), r.states(), "an ended rescale keeps only its figures");
  }

  @Test
  void aCutThatWouldHandAnInstanceTooMuchStateRollsBackBeforeAnythingIsRegrouped() {
    RescaleProcess.Settings tight = new RescaleProcess.Settings(Duration.ofMillis(1000), Duration.ofMillis(20), 1);
    RescaleProcess p = RescaleProcess.start(tight, started(2, 1), MoveProcess.Now.at(0)).process();
    p.on(new RescaleProcess.UpstreamPaused(10, false), MoveProcess.Now.at(1));
    p.on(new RescaleProcess.InstanceReport(INSTANCES.get(0), 10, state(keyOwnedBy(0, 2))), MoveProcess.Now.at(2));
    p.on(new RescaleProcess.InstanceReport(INSTANCES.get(1), 10, state(keyOwnedBy(1, 2))), MoveProcess.Now.at(2));
    Decision d = p.on(new RescaleProcess.InstanceReport(INSTANCES.get(2), 10, new WindowState(0, 0, 0, List.of())), MoveProcess.Now.at(2));
    assertEquals(List.of(), d.events(), "no cut persisted");
    assertEquals(List.of(), effects(d, AskRegroup.class));
    assertEquals(List.of(new AskResumeUpstream(SRC)), effects(d, AskResumeUpstream.class));
    d = p.on(new RescaleProcess.UpstreamResumed(), MoveProcess.Now.at(3));
    assertTrue(effects(d, Finish.class).get(0).reason().contains("entries-max 1"), d::toString);
  }

  @Test
  void anInstancePastThePausedEndIsABugNotARescale() {
    RescaleProcess p = RescaleProcess.start(SETTINGS, started(2, 3), MoveProcess.Now.at(0)).process();
    p.on(new RescaleProcess.UpstreamPaused(10, false), MoveProcess.Now.at(1));
    assertThrows(IllegalStateException.class,
        () -> p.on(new RescaleProcess.InstanceReport(INSTANCES.get(0), 11, state("a")), MoveProcess.Now.at(2)));
    assertThrows(IllegalArgumentException.class,
        () -> new RescaleProcess.RescaleStarted("r", new QueryId("q"), "d", W, SRC, INSTANCES, 2, 4, 0));
  }
}
