package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.VolumeMigration.Attach;
import io.ferry.blocks.VolumeMigration.AttachAcknowledged;
import io.ferry.blocks.VolumeMigration.AttachReason;
import io.ferry.blocks.VolumeMigration.Attached;
import io.ferry.blocks.VolumeMigration.BackendKnown;
import io.ferry.blocks.VolumeMigration.BackendLost;
import io.ferry.blocks.VolumeMigration.Confirm;
import io.ferry.blocks.VolumeMigration.CopyCompleted;
import io.ferry.blocks.VolumeMigration.Decision;
import io.ferry.blocks.VolumeMigration.Detach;
import io.ferry.blocks.VolumeMigration.EveryBlockPresent;
import io.ferry.blocks.VolumeMigration.Export;
import io.ferry.blocks.VolumeMigration.Input;
import io.ferry.blocks.VolumeMigration.LogProgress;
import io.ferry.blocks.VolumeMigration.MigrationFailed;
import io.ferry.blocks.VolumeMigration.MigrationStopped;
import io.ferry.blocks.VolumeMigration.Open;
import io.ferry.blocks.VolumeMigration.Phase;
import io.ferry.blocks.VolumeMigration.Progressed;
import io.ferry.blocks.VolumeMigration.Recovered;
import io.ferry.blocks.VolumeMigration.Release;
import io.ferry.blocks.VolumeMigration.ReplyStopped;
import io.ferry.blocks.VolumeMigration.Start;
import io.ferry.blocks.VolumeMigration.Started;
import io.ferry.blocks.VolumeMigration.StopRequested;
import io.ferry.blocks.VolumeMigration.TellBackendComplete;
import io.ferry.blocks.VolumeMigration.Tick;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The volume migration process without actors: every transition, a crash in each phase, inputs
 * that do not fit their phase, timeouts driven by the time passed in, and a seeded run of random
 * inputs in which no phase ever goes backwards.
 */
@ExtendWith(SeedExtension.class)
class VolumeMigrationTest {

  private static final VolumeSpec SPEC = new VolumeSpec(new VolumeId("v"), "edge-a", "/images/v.img", "cloud", 64 * 1024, "");
  private static final long SIZE = 100L * 64 * 1024;
  private static final int BS = 64 * 1024;
  private static final long BLOCKS = 100;
  private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration PROGRESS = Duration.ofSeconds(1);
  private static final long SECOND = 1_000_000_000L;

  /** The shell's part, without an actor: journal the events, fold them, keep the commands. */
  private static final class Shell {
    final List<VolumeMigration.Event> journal;
    final VolumeMigration process = new VolumeMigration(ATTACH_TIMEOUT, PROGRESS);
    Phase phase;

    Shell(List<VolumeMigration.Event> journal) {
      this.journal = new ArrayList<>(journal);
      this.phase = VolumeMigration.replay(journal);
    }

    Decision feed(Input input) {
      Decision d = process.decide(phase, input);
      for (VolumeMigration.Event e : d.events()) {
        phase = VolumeMigration.apply(phase, e);
        journal.add(e);
      }
      return d;
    }

    /** The member dies; a new incarnation recovers from the journal alone. */
    Shell crash() {
      Shell next = new Shell(journal);
      next.feed(new Recovered());
      return next;
    }
  }

  private static Shell fresh() {
    return new Shell(List.of());
  }

  /** Started, attached to backend "b1" under id 11, geometry recorded: Streaming. */
  private static Shell streaming() {
    Shell s = fresh();
    s.feed(new Start(SPEC));
    s.feed(new BackendKnown("b1", 0, 11, 0));
    s.feed(new AttachAcknowledged(11, SIZE, BS));
    return s;
  }

  private static Shell copied() {
    Shell s = streaming();
    s.feed(new EveryBlockPresent());
    return s;
  }

  private static <T> T only(Decision d, Class<T> type) {
    List<T> found = d.commands().stream().filter(type::isInstance).map(type::cast).toList();
    assertEquals(1, found.size(), "one " + type.getSimpleName() + " in " + d);
    return found.get(0);
  }

  // ------------------------------------------------------------------ transitions

  @Test
  void theWholeLifeWithAnExportOnTheAgentsSize() {
    Shell s = fresh();
    assertEquals("NEW", s.phase.label());

    Decision start = s.feed(new Start(SPEC));
    assertEquals(List.of(new Started(SPEC)), start.events());
    assertEquals(List.of(new Open()), start.commands());
    assertEquals(new VolumeMigration.Attaching(SPEC), s.phase);
    assertEquals("ATTACHING", s.phase.label());

    Decision known = s.feed(new BackendKnown("b1", SIZE, 11, 0));
    assertEquals(List.of(new Export(SIZE, BS), new Attach(11, true, AttachReason.FIRST)), known.commands(), "exported before the backend answers");
    assertTrue(known.events().isEmpty());
    assertEquals(11, s.process.attachId());

    Decision ack = s.feed(new AttachAcknowledged(11, SIZE, BS));
    assertEquals(List.of(new Attached(SIZE, BS)), ack.events());
    assertEquals(List.of(new Confirm(11, SIZE, BS)), ack.commands(), "no second export");
    assertEquals(new VolumeMigration.Streaming(SPEC, SIZE, BS, 0), s.phase);
    assertEquals("COPYING", s.phase.label(), "the word users have always seen");

    Decision progress = s.feed(new Tick(SECOND, 40, false, 12));
    assertEquals(List.of(new Progressed(40)), progress.events());
    assertEquals(List.of(new LogProgress()), progress.commands());
    assertEquals(40, ((VolumeMigration.Streaming) s.phase).blocksPresent());

    Decision done = s.feed(new EveryBlockPresent());
    assertEquals(List.of(new CopyCompleted()), done.events());
    assertEquals(List.of(new TellBackendComplete(11)), done.commands());
    assertEquals(new VolumeMigration.Copied(SPEC, SIZE, BS), s.phase);

    Decision stop = s.feed(new StopRequested());
    assertEquals(List.of(new MigrationStopped()), stop.events());
    assertEquals(List.of(new Release(), new ReplyStopped()), stop.commands());
    assertEquals("STOPPED", s.phase.label());
  }

  @Test
  void withoutTheAgentsSizeTheExportFollowsTheBackendsAnswer() {
    Shell s = fresh();
    s.feed(new Start(SPEC));
    Decision known = s.feed(new BackendKnown("b1", -1, 11, 0));
    assertEquals(List.of(new Attach(11, true, AttachReason.FIRST)), known.commands());
    Decision ack = s.feed(new AttachAcknowledged(11, SIZE, BS));
    assertEquals(List.of(new Export(SIZE, BS), new Confirm(11, SIZE, BS)), ack.commands());
  }

  @Test
  void aStopBeforeAnyStartIsRecordedSoALateStartDoesNotServe() {
    Shell s = fresh();
    Decision stop = s.feed(new StopRequested());
    assertEquals(List.of(new MigrationStopped()), stop.events());
    Decision late = s.feed(new Start(SPEC));
    assertTrue(late.isIgnored());
    assertTrue(late.ignored().contains("stopped"), late.ignored());
    assertTrue(late.commands().isEmpty(), "nothing opens");
    Decision again = s.feed(new StopRequested());
    assertEquals(List.of(new ReplyStopped()), again.commands(), "a second stop is answered");
    assertTrue(again.events().isEmpty(), "and not recorded twice");
  }

  @Test
  void everyBlockPresentBeforeTheSourceAnsweredIsRecordedWithItsAnswer() {
    Shell s = fresh();
    s.feed(new Start(SPEC));
    s.feed(new BackendKnown("b1", SIZE, 11, 0));
    Decision early = s.feed(new EveryBlockPresent());
    assertTrue(early.isIgnored(), "no geometry recorded yet");
    Decision ack = s.feed(new AttachAcknowledged(11, SIZE, BS));
    assertEquals(List.of(new Attached(SIZE, BS), new CopyCompleted()), ack.events());
    assertEquals(List.of(new Confirm(11, SIZE, BS), new TellBackendComplete(11)), ack.commands());
    assertInstanceOf(VolumeMigration.Copied.class, s.phase);
  }

  @Test
  void everyBlockPresentWhileAnAttachmentIsPendingIsToldWithItsAnswer() {
    Shell s = streaming();
    s.feed(new BackendLost());
    s.feed(new BackendKnown("b2", SIZE, 21, 0));
    Decision done = s.feed(new EveryBlockPresent());
    assertEquals(List.of(new CopyCompleted()), done.events());
    assertTrue(done.commands().isEmpty(), "the pending attachment's answer tells the backend");
    Decision ack = s.feed(new AttachAcknowledged(21, SIZE, BS));
    assertEquals(new TellBackendComplete(21), only(ack, TellBackendComplete.class));
  }

  // ------------------------------------------------------------------ backends come and go

  @Test
  void aLostBackendDetachesAndItsReplacementGetsTheHashesAndANewAttachment() {
    Shell s = streaming();
    assertEquals(List.of(new Detach()), s.feed(new BackendLost()).commands());
    assertTrue(s.feed(new AttachAcknowledged(11, SIZE, BS)).isIgnored(), "the lost backend's late answer does not count");
    Decision replacement = s.feed(new BackendKnown("b2", SIZE, 21, 0));
    assertEquals(List.of(new Attach(21, true, AttachReason.NEW_BACKEND)), replacement.commands(), "no export again, hashes to the new backend");
    Decision ack = s.feed(new AttachAcknowledged(21, SIZE, BS));
    assertTrue(ack.events().isEmpty(), "the geometry is recorded once");
    assertEquals(List.of(new Confirm(21, SIZE, BS)), ack.commands());
    assertEquals("COPYING", s.phase.label(), "the phase stays");
  }

  @Test
  void theSameBackendNamedAgainIsNotAttachedTwice() {
    Shell s = fresh();
    s.feed(new Start(SPEC));
    s.feed(new BackendKnown("b1", SIZE, 11, 0));
    Decision pending = s.feed(new BackendKnown("b1", SIZE, 12, 0));
    assertTrue(pending.ignored().contains("already attaching"), pending.ignored());
    s.feed(new AttachAcknowledged(11, SIZE, BS));
    Decision attached = s.feed(new BackendKnown("b1", SIZE, 13, 0));
    assertTrue(attached.ignored().contains("already attached"), attached.ignored());
    assertEquals(11, s.process.attachId());
  }

  // ------------------------------------------------------------------ timeouts

  @Test
  void anUnansweredAttachmentIsSentAgainAfterTheTimeoutUnderANewIdWithoutTheHashes() {
    Shell s = fresh();
    s.feed(new Start(SPEC));
    s.feed(new BackendKnown("b1", SIZE, 11, 0));
    Decision early = s.feed(new Tick(ATTACH_TIMEOUT.toNanos(), 0, false, 12));
    assertTrue(early.commands().stream().noneMatch(Attach.class::isInstance), "not before the timeout: " + early);
    Decision late = s.feed(new Tick(ATTACH_TIMEOUT.toNanos() + 1, 0, false, 12));
    assertEquals(new Attach(12, false, AttachReason.UNANSWERED), only(late, Attach.class));
    assertTrue(s.feed(new AttachAcknowledged(11, SIZE, BS)).isIgnored(), "the first attachment's answer is stale now");
    assertEquals(List.of(new Attached(SIZE, BS)), s.feed(new AttachAcknowledged(12, SIZE, BS)).events());
  }

  @Test
  void aStalledBackgroundCopyAttachesAgainOnlyWhileStreamingAndAttached() {
    Shell s = streaming();
    Decision stalled = s.feed(new Tick(SECOND, 10, true, 12));
    assertEquals(new Attach(12, false, AttachReason.STALLED), only(stalled, Attach.class));
    Decision pending = s.feed(new Tick(2 * SECOND, 10, true, 13));
    assertTrue(pending.commands().stream().noneMatch(Attach.class::isInstance), "not while the new attachment awaits its answer");
    s.feed(new AttachAcknowledged(12, SIZE, BS));
    s.feed(new EveryBlockPresent());
    Decision copied = s.feed(new Tick(3 * SECOND, BLOCKS, true, 14));
    assertTrue(copied.isIgnored(), "a copied volume has no background copy to stall: " + copied);
  }

  @Test
  void progressIsLoggedEveryIntervalAndRecordedOnlyWhenItAdvances() {
    Shell s = streaming();
    assertEquals(List.of(new Progressed(10)), s.feed(new Tick(SECOND, 10, false, 12)).events());
    assertTrue(s.feed(new Tick(SECOND + PROGRESS.toNanos() / 2, 20, false, 12)).isIgnored(), "not within the interval");
    Decision same = s.feed(new Tick(2 * SECOND + 1, 10, false, 12));
    assertEquals(List.of(new LogProgress()), same.commands(), "a stuck copy still logs where it stands");
    assertTrue(same.events().isEmpty(), "and records nothing new");
    Decision fewer = s.feed(new Tick(4 * SECOND, 5, false, 12));
    assertTrue(fewer.events().isEmpty(), "progress is never recorded backwards (a frontend on a member with another store)");
    Decision beyond = s.feed(new Tick(6 * SECOND, BLOCKS + 1, false, 12));
    assertTrue(beyond.events().isEmpty(), "more blocks than the volume has is not progress");
    assertEquals(10, ((VolumeMigration.Streaming) s.phase).blocksPresent());
  }

  // ------------------------------------------------------------------ crashes

  @Test
  void aCrashInEachPhaseResumesInThatPhase() {
    Shell attaching = fresh();
    attaching.feed(new Start(SPEC));
    attaching.feed(new BackendKnown("b1", SIZE, 11, 0)); // exported on the hint, not confirmed
    Shell a = attaching.crash();
    assertEquals(new VolumeMigration.Attaching(SPEC), a.phase);
    Decision known = a.feed(new BackendKnown("b1", SIZE, 31, 0));
    assertEquals(List.of(new Export(SIZE, BS), new Attach(31, true, AttachReason.FIRST)), known.commands(), "a new incarnation sends its hashes again");
    assertEquals(List.of(new Attached(SIZE, BS)), a.feed(new AttachAcknowledged(31, SIZE, BS)).events());

    Shell streaming = streaming();
    streaming.feed(new Tick(SECOND, 60, false, 12));
    Shell st = new Shell(streaming.journal);
    Decision recovered = st.feed(new Recovered());
    assertEquals(List.of(new Open(), new Export(SIZE, BS)), recovered.commands(), "serves what the store holds before the backend answers");
    assertEquals(new VolumeMigration.Streaming(SPEC, SIZE, BS, 60), st.phase);
    st.feed(new BackendKnown("b1", SIZE, 32, 0));
    Decision ack = st.feed(new AttachAcknowledged(32, SIZE, BS));
    assertTrue(ack.events().isEmpty(), "nothing recorded twice");
    assertEquals(List.of(new Confirm(32, SIZE, BS)), ack.commands(), "no complete notice: the copy goes on from the store's bitmap");

    Shell c = copied().crash();
    assertEquals(new VolumeMigration.Copied(SPEC, SIZE, BS), c.phase);
    c.feed(new BackendKnown("b2", SIZE, 33, 0));
    Decision copiedAck = c.feed(new AttachAcknowledged(33, SIZE, BS));
    assertEquals(List.of(new Confirm(33, SIZE, BS)), copiedAck.commands(),
        "a copied volume recovered where the store may lack blocks (another member of the site) lets the backend send what it lacks");
    Decision full = c.feed(new EveryBlockPresent());
    assertTrue(full.events().isEmpty(), "completion is recorded once");
    assertEquals(List.of(new TellBackendComplete(33)), full.commands(), "once this store holds every block, the backend is told");
    assertTrue(c.feed(new EveryBlockPresent()).isIgnored(), "and told once");

    Shell stoppedBefore = copied();
    stoppedBefore.feed(new StopRequested());
    Shell stopped = new Shell(stoppedBefore.journal);
    assertTrue(stopped.feed(new Recovered()).commands().isEmpty(), "a stopped volume opens nothing");
    assertTrue(stopped.feed(new Start(SPEC)).isIgnored());
    assertTrue(stopped.feed(new BackendKnown("b3", SIZE, 34, 0)).isIgnored());

    Shell failedBefore = streaming();
    failedBefore.feed(new BackendLost());
    failedBefore.feed(new BackendKnown("b2", SIZE * 2, 22, 0));
    failedBefore.feed(new AttachAcknowledged(22, SIZE * 2, BS));
    Shell failed = new Shell(failedBefore.journal);
    assertInstanceOf(VolumeMigration.Failed.class, failed.phase);
    assertTrue(failed.feed(new Recovered()).commands().isEmpty(), "a failed volume stays released");
  }

  // ------------------------------------------------------------------ refusals

  @Test
  void inputsThatDoNotFitThePhaseAreIgnoredSayingWhy() {
    Shell s = fresh();
    assertTrue(s.feed(new BackendKnown("b1", SIZE, 11, 0)).ignored().contains("phase NEW"));
    assertTrue(s.feed(new AttachAcknowledged(11, SIZE, BS)).ignored().contains("phase NEW"));
    assertTrue(s.feed(new EveryBlockPresent()).ignored().contains("phase NEW"));
    assertTrue(s.feed(new Tick(SECOND, 1, true, 12)).ignored().contains("phase NEW"));
    assertTrue(s.feed(new BackendLost()).ignored().contains("no backend"));

    s.feed(new Start(SPEC));
    assertEquals("already started", s.feed(new Start(SPEC)).ignored());
    VolumeSpec other = new VolumeSpec(new VolumeId("v"), "edge-a", "/images/other.img", "cloud", 64 * 1024, "");
    String refused = s.feed(new Start(other)).ignored();
    assertTrue(refused.contains("different spec"), refused);
    s.feed(new BackendKnown("b1", SIZE, 11, 0));
    String stale = s.feed(new AttachAcknowledged(99, SIZE, BS)).ignored();
    assertTrue(stale.contains("not the one awaited (11)"), stale);
    assertEquals(new VolumeMigration.Attaching(SPEC), s.phase, "refusals change nothing");
    assertThrows(IllegalArgumentException.class, () -> s.feed(new BackendKnown("b2", SIZE, 0, 0)), "0 is no attachment id");
  }

  @Test
  void theSourceChangingItsGeometryFailsTheMigrationAndOnlyAStopFollows() {
    Shell s = streaming();
    s.feed(new BackendLost());
    s.feed(new BackendKnown("b2", SIZE, 21, 0));
    Decision changed = s.feed(new AttachAcknowledged(21, SIZE + BS, BS));
    MigrationFailed failed = assertInstanceOf(MigrationFailed.class, changed.events().get(0));
    assertTrue(failed.reason().contains("geometry changed") && failed.reason().contains(String.valueOf(SIZE + BS)), failed.reason());
    assertEquals(List.of(new Release()), changed.commands());
    assertEquals("FAILED", s.phase.label());
    assertTrue(s.feed(new BackendKnown("b3", SIZE, 31, 0)).isIgnored());
    assertTrue(s.feed(new Start(SPEC)).ignored().contains("failed"));
    assertEquals(List.of(new MigrationStopped()), s.feed(new StopRequested()).events());
    assertEquals("STOPPED", s.phase.label());
  }

  @Test
  void aHintTheSourceContradictsFailsInsteadOfServingAWrongSize() {
    Shell s = fresh();
    s.feed(new Start(SPEC));
    s.feed(new BackendKnown("b1", SIZE, 11, 0));
    Decision d = s.feed(new AttachAcknowledged(11, SIZE - BS, BS));
    assertInstanceOf(MigrationFailed.class, d.events().get(0));
    assertInstanceOf(VolumeMigration.Failed.class, s.phase);
  }

  // ------------------------------------------------------------------ never backwards

  @Test
  void eventsThatWouldTakeAPhaseBackAreRefusedByTheFold() {
    Phase copied = VolumeMigration.replay(List.of(new Started(SPEC), new Attached(SIZE, BS), new CopyCompleted()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(copied, new Attached(SIZE, BS)));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(copied, new Started(SPEC)));
    Phase streaming = VolumeMigration.replay(List.of(new Started(SPEC), new Attached(SIZE, BS), new Progressed(50)));
    IllegalStateException back = assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(streaming, new Progressed(49)));
    assertTrue(back.getMessage().contains("out of order"), back.getMessage());
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(new VolumeMigration.Attaching(SPEC), new CopyCompleted()));
    IllegalStateException checker = assertThrows(IllegalStateException.class,
        () -> VolumeMigration.checkForward(copied, new VolumeMigration.Attaching(SPEC), new Started(SPEC)));
    assertTrue(checker.getMessage().contains("went backwards: COPIED -> ATTACHING"), checker.getMessage());
    VolumeMigration.checkForward(new VolumeMigration.Failed("x"), new VolumeMigration.Stopped(), new MigrationStopped());
    Phase stopped = VolumeMigration.apply(copied, new MigrationStopped());
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(stopped, new MigrationFailed("late")), "a stopped migration does not fail afterwards");
  }

  @Test
  void randomInputsNeverTakeAPhaseBackAndACrashAnywhereResumesWhereTheJournalSays(Seed seed) {
    Random r = seed.random();
    for (int run = 0; run < 200; run++) {
      Shell s = fresh();
      long now = 0;
      long nextId = 1;
      long present = 0;
      for (int step = 0; step < 60; step++) {
        now += r.nextInt(3) * SECOND;
        present = Math.min(BLOCKS, present + r.nextInt(10));
        Input in = switch (r.nextInt(10)) {
          case 0 -> new Start(SPEC);
          case 1 -> new BackendKnown("b" + r.nextInt(3), r.nextBoolean() ? SIZE : -1, nextId++, now);
          case 2, 3 -> new AttachAcknowledged(r.nextBoolean() ? s.process.attachId() : nextId - 2, r.nextInt(20) == 0 ? SIZE + BS : SIZE, BS);
          case 4, 5 -> new Tick(now, present, r.nextBoolean(), nextId++);
          case 6 -> new EveryBlockPresent();
          case 7 -> new BackendLost();
          case 8 -> r.nextInt(8) == 0 ? new StopRequested() : new Recovered();
          default -> new Tick(now, present, false, nextId++);
        };
        Phase before = s.phase;
        Decision d;
        try {
          d = s.feed(in);
        } catch (IllegalArgumentException e) {
          throw new AssertionError(seed + " run " + run + ": " + in + " in " + before, e);
        }
        assertTrue(s.phase.order() >= before.order(), seed + ": " + before + " -> " + s.phase + " on " + in);
        assertFalse(d.isIgnored() && !d.events().isEmpty(), "an ignored input records nothing: " + d);
        if (r.nextInt(15) == 0) {
          Shell recovered = s.crash();
          assertEquals(s.phase, recovered.phase, seed + ": the journal alone gives the phase");
          s = recovered;
        }
      }
    }
  }
}
