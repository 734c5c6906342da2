package io.ferry.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.blocks.VolumeMigration.AbortCompleted;
import io.ferry.blocks.VolumeMigration.AbortRequested;
import io.ferry.blocks.VolumeMigration.AbortStarted;
import io.ferry.blocks.VolumeMigration.ApplyPolicy;
import io.ferry.blocks.VolumeMigration.AttachAcknowledged;
import io.ferry.blocks.VolumeMigration.Attached;
import io.ferry.blocks.VolumeMigration.BackendKnown;
import io.ferry.blocks.VolumeMigration.ChangePolicy;
import io.ferry.blocks.VolumeMigration.ChangesShipped;
import io.ferry.blocks.VolumeMigration.ConvergenceStarted;
import io.ferry.blocks.VolumeMigration.CopyCompleted;
import io.ferry.blocks.VolumeMigration.CutOverCompleted;
import io.ferry.blocks.VolumeMigration.CutOverRequested;
import io.ferry.blocks.VolumeMigration.Decision;
import io.ferry.blocks.VolumeMigration.EveryBlockPresent;
import io.ferry.blocks.VolumeMigration.Export;
import io.ferry.blocks.VolumeMigration.Input;
import io.ferry.blocks.VolumeMigration.MigrationPaused;
import io.ferry.blocks.VolumeMigration.MigrationResumed;
import io.ferry.blocks.VolumeMigration.Open;
import io.ferry.blocks.VolumeMigration.PassCompleted;
import io.ferry.blocks.VolumeMigration.PassDone;
import io.ferry.blocks.VolumeMigration.PauseRequested;
import io.ferry.blocks.VolumeMigration.PauseTransfers;
import io.ferry.blocks.VolumeMigration.Phase;
import io.ferry.blocks.VolumeMigration.PolicyChanged;
import io.ferry.blocks.VolumeMigration.Recovered;
import io.ferry.blocks.VolumeMigration.Release;
import io.ferry.blocks.VolumeMigration.ReleaseBackend;
import io.ferry.blocks.VolumeMigration.ResumeRequested;
import io.ferry.blocks.VolumeMigration.ResumeTransfers;
import io.ferry.blocks.VolumeMigration.ReverseCompleted;
import io.ferry.blocks.VolumeMigration.ReverseRequested;
import io.ferry.blocks.VolumeMigration.ReverseStarted;
import io.ferry.blocks.VolumeMigration.ShipChanges;
import io.ferry.blocks.VolumeMigration.ShipReason;
import io.ferry.blocks.VolumeMigration.Start;
import io.ferry.blocks.VolumeMigration.StartPass;
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
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The end of a volume's life (issue 14) without actors: write policy changes, converging passes,
 * cut-over, pause and resume, abort, reverse; every transition, a crash in each new phase, every
 * request a phase does not allow refused with a reason, and a seeded run in which no phase goes back.
 */
@ExtendWith(SeedExtension.class)
class VolumeMigrationEndTest {

  private static final VolumeSpec SPEC = new VolumeSpec(new VolumeId("v"), "edge-a", "/images/v.img", "cloud", 64 * 1024, "");
  private static final long SIZE = 100L * 64 * 1024;
  private static final int BS = 64 * 1024;
  private static final long THRESHOLD = 8;
  private static final long SECOND = 1_000_000_000L;

  private static final class Shell {
    final List<VolumeMigration.Event> journal;
    final VolumeMigration process = new VolumeMigration(Duration.ofSeconds(5), Duration.ofSeconds(1), THRESHOLD);
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

    Shell crash() {
      Shell next = new Shell(journal);
      next.recovery = next.feed(new Recovered());
      return next;
    }

    Decision recovery;
  }

  private static Shell streaming() {
    Shell s = new Shell(List.of());
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

  private static Shell converging() {
    Shell s = copied();
    s.feed(new CutOverRequested());
    return s;
  }

  private static Shell cutOver() {
    Shell s = converging();
    s.feed(new PassDone(1, 0));
    return s;
  }

  private static void refused(Decision d, String because) {
    assertTrue(d.refused(), "refused: " + d);
    assertTrue(d.events().isEmpty() && d.commands().isEmpty(), "a refusal records and does nothing: " + d);
    assertTrue(d.ignored().contains(because), d.ignored());
  }

  // ------------------------------------------------------------------ write policy

  @Test
  void theWritePolicyChangesWhileRunningAndSurvivesACrashAndTheRegistrysStart() {
    Shell s = streaming();
    assertEquals(WritePolicy.TARGET_ONLY, VolumeMigration.writePolicy(s.phase), "old journals mean target-only");
    Decision d = s.feed(new ChangePolicy(WritePolicy.WRITE_BACK));
    assertEquals(List.of(new PolicyChanged(WritePolicy.WRITE_BACK)), d.events());
    assertEquals(List.of(new ApplyPolicy(WritePolicy.WRITE_BACK)), d.commands());
    assertEquals(WritePolicy.WRITE_BACK, VolumeMigration.writePolicy(s.phase));
    assertTrue(s.feed(new ChangePolicy(WritePolicy.WRITE_BACK)).isIgnored(), "a repeat does nothing");
    assertFalse(s.feed(new ChangePolicy(WritePolicy.WRITE_BACK)).refused());
    Decision restart = s.feed(new Start(SPEC));
    assertTrue(restart.ignored().contains("already started"), "the registry's spec with the first policy is the same volume: " + restart);
    s = s.crash();
    assertEquals(WritePolicy.WRITE_BACK, VolumeMigration.writePolicy(s.phase));
    s.feed(new EveryBlockPresent());
    assertEquals(WritePolicy.WRITE_BACK, VolumeMigration.writePolicy(s.phase), "kept across phases");
    s.feed(new PauseRequested());
    s.feed(new ChangePolicy(WritePolicy.TARGET_ONLY));
    assertEquals(WritePolicy.TARGET_ONLY, VolumeMigration.writePolicy(s.phase), "changeable while paused");
    s.feed(new ResumeRequested());
    assertEquals(WritePolicy.TARGET_ONLY, VolumeMigration.writePolicy(s.phase));
    refused(cutOver().feed(new ChangePolicy(WritePolicy.WRITE_BACK)), "cut over");
    refused(new Shell(List.of()).feed(new ChangePolicy(WritePolicy.WRITE_BACK)), "NEW");
  }

  // ------------------------------------------------------------------ converge and cut over

  @Test
  void passesRepeatUntilTheChangeSetIsAtMostTheThresholdThenTheBackendIsReleased() {
    Shell s = copied();
    Decision start = s.feed(new CutOverRequested());
    assertEquals(List.of(new ConvergenceStarted()), start.events());
    assertEquals(List.of(new StartPass(1, false)), start.commands());
    assertEquals(new VolumeMigration.Converging(SPEC, SIZE, BS, 1, -1), s.phase);
    assertEquals("CONVERGING", s.phase.label());

    Decision one = s.feed(new PassDone(1, 500));
    assertEquals(List.of(new PassCompleted(1, 500)), one.events());
    assertEquals(List.of(new StartPass(2, false)), one.commands());
    assertTrue(s.feed(new PassDone(1, 3)).isIgnored(), "a late report of an earlier pass changes nothing");

    Decision two = s.feed(new PassDone(2, 40));
    assertEquals(List.of(new StartPass(3, false)), two.commands(), "shrinking: go on");
    assertFalse(VolumeMigration.sourceDetachable(s.phase));

    Decision three = s.feed(new PassDone(3, THRESHOLD));
    assertEquals(List.of(new PassCompleted(3, THRESHOLD), new CutOverCompleted()), three.events());
    assertEquals(List.of(new ReleaseBackend()), three.commands());
    assertEquals(new VolumeMigration.CutOver(SPEC, SIZE, BS), s.phase);
    assertEquals("CUT_OVER", s.phase.label());
    assertTrue(VolumeMigration.sourceDetachable(s.phase));
    assertEquals(SPEC.targetSite(), VolumeMigration.targetSite(s.phase).orElseThrow(), "the target keeps serving");
    assertTrue(s.feed(new BackendKnown("b2", SIZE, 12, 0)).isIgnored(), "no backend after the cut-over");
    assertTrue(s.feed(new CutOverRequested()).ignored().contains("already cut over"));
  }

  @Test
  void passesThatStopShrinkingHoldWritesSoTheyConverge() {
    Shell s = converging();
    s.feed(new PassDone(1, 300));
    Decision grew = s.feed(new PassDone(2, 320));
    assertEquals(List.of(new StartPass(3, true)), grew.commands());
    Decision held = s.feed(new PassDone(3, 2));
    assertInstanceOf(VolumeMigration.CutOver.class, s.phase, "" + held);
  }

  @Test
  void aCutOverIsRefusedWhileCopyingOrPausedAndBeforeAnyStart() {
    refused(streaming().feed(new CutOverRequested()), "still copying (0 of 100 blocks");
    Shell paused = copied();
    paused.feed(new PauseRequested());
    refused(paused.feed(new CutOverRequested()), "resume it");
    refused(new Shell(List.of()).feed(new CutOverRequested()), "from COPIED");
  }

  // ------------------------------------------------------------------ pause and resume

  @Test
  void pauseStopsTransfersKeepsTheOrderAndResumesWhereItWas() {
    Shell s = streaming();
    Decision p = s.feed(new PauseRequested());
    assertEquals(List.of(new MigrationPaused()), p.events());
    assertEquals(List.of(new PauseTransfers()), p.commands());
    assertEquals(new VolumeMigration.Paused(new VolumeMigration.Streaming(SPEC, SIZE, BS, 0)), s.phase);
    assertEquals("PAUSED", s.phase.label());
    assertEquals(2, s.phase.order(), "the order of the phase it paused");
    assertTrue(s.feed(new PauseRequested()).isIgnored());
    assertTrue(s.feed(new Tick(10 * SECOND, 50, true, 12)).isIgnored(), "no progress, no stall re-attach while paused");

    // On-demand reads may complete the copy while paused.
    Decision done = s.feed(new EveryBlockPresent());
    assertEquals(List.of(new CopyCompleted()), done.events());
    assertEquals(new VolumeMigration.Paused(new VolumeMigration.Copied(SPEC, SIZE, BS)), s.phase);

    s = s.crash();
    assertEquals(List.of(new Open(), new Export(SIZE, BS), new PauseTransfers()), s.recovery.commands(), "a paused volume stays paused");

    Decision r = s.feed(new ResumeRequested());
    assertEquals(List.of(new MigrationResumed()), r.events());
    assertEquals(List.of(new ResumeTransfers()), r.commands());
    assertEquals(new VolumeMigration.Copied(SPEC, SIZE, BS), s.phase);
    refused(s.feed(new ResumeRequested()), "COPIED, not paused");

    Shell c = converging();
    c.feed(new PassDone(1, 100));
    c.feed(new PauseRequested());
    assertTrue(c.feed(new PassDone(2, 1)).isIgnored(), "a pass interrupted by the pause does not count");
    assertEquals(List.of(new ResumeTransfers(), new StartPass(2, false)), c.feed(new ResumeRequested()).commands(), "the interrupted pass again");

    refused(new Shell(List.of()).feed(new PauseRequested()), "NEW");
    refused(cutOver().feed(new PauseRequested()), "CUT_OVER");
  }

  // ------------------------------------------------------------------ abort

  @Test
  void abortClosesTheExportShipsTheTargetsWritesAndLeavesTheSourcePrimary() {
    for (Supplier<Shell> from : List.<Supplier<Shell>>of(VolumeMigrationEndTest::streaming, VolumeMigrationEndTest::copied,
        VolumeMigrationEndTest::converging, () -> {
          Shell s = streaming();
          s.feed(new PauseRequested());
          return s;
        }, () -> {
          Shell s = new Shell(List.of());
          s.feed(new Start(SPEC));
          return s;
        })) {
      Shell s = from.get();
      String before = s.phase.label();
      Decision a = s.feed(new AbortRequested());
      assertEquals(List.of(new AbortStarted()), a.events(), before);
      assertEquals(List.of(new Release(), new ShipChanges(ShipReason.ABORT)), a.commands(), before);
      assertEquals(new VolumeMigration.Aborting(SPEC), s.phase);
      assertTrue(s.feed(new AbortRequested()).ignored().contains("already aborting"));

      s = s.crash();
      assertEquals(List.of(new Open(), new ShipChanges(ShipReason.ABORT)), s.recovery.commands(), "shipping resumes after a crash; no export");
      // Shipping needs the backend: it attaches, and the backend sends nothing more in the background.
      s.feed(new BackendKnown("b9", SIZE, 90, 0));
      assertTrue(s.feed(new AttachAcknowledged(90, SIZE, BS)).commands().contains(new TellBackendComplete(90)), before);

      Decision done = s.feed(new ChangesShipped());
      assertEquals(List.of(new AbortCompleted()), done.events());
      assertEquals(List.of(new ReleaseBackend()), done.commands());
      assertEquals(new VolumeMigration.Aborted(SPEC), s.phase);
      assertTrue(VolumeMigration.targetSite(s.phase).isEmpty(), "nothing served at the target");
      assertFalse(VolumeMigration.sourceDetachable(s.phase), "the source is the primary");
      assertTrue(s.feed(new Start(SPEC)).ignored().contains("aborted"), "an aborted volume does not start again");
      assertTrue(s.feed(new AbortRequested()).ignored().contains("already aborted"));
    }
    refused(cutOver().feed(new AbortRequested()), "reverse moves it back");
    refused(new Shell(List.of()).feed(new AbortRequested()), "nothing to abort");
  }

  // ------------------------------------------------------------------ reverse

  @Test
  void reverseAfterTheCutOverShipsTheTargetsChangesBack() {
    Shell s = cutOver();
    Decision r = s.feed(new ReverseRequested());
    assertEquals(List.of(new ReverseStarted()), r.events());
    assertEquals(List.of(new Release(), new ShipChanges(ShipReason.REVERSE)), r.commands());
    assertEquals(new VolumeMigration.Reversing(SPEC, SIZE, BS), s.phase);
    assertEquals(6, s.phase.order());

    s = s.crash();
    assertEquals(List.of(new Open(), new ShipChanges(ShipReason.REVERSE)), s.recovery.commands());
    s.feed(new BackendKnown("b3", SIZE, 31, 0));
    Decision geometry = s.feed(new AttachAcknowledged(31, SIZE + BS, BS));
    assertInstanceOf(VolumeMigration.Failed.class, s.phase, "a source that changed size cannot take the changes back: " + geometry);

    s = cutOver();
    s.feed(new ReverseRequested());
    assertTrue(s.feed(new ReverseRequested()).ignored().contains("already reversing"));
    assertTrue(s.feed(new PassDone(1, 0)).isIgnored());
    Decision done = s.feed(new ChangesShipped());
    assertEquals(List.of(new ReverseCompleted()), done.events());
    assertEquals(List.of(new ReleaseBackend()), done.commands());
    assertEquals(new VolumeMigration.Reversed(SPEC), s.phase);
    assertEquals("REVERSED", s.phase.label());
    assertTrue(s.feed(new ChangesShipped()).isIgnored());

    refused(streaming().feed(new ReverseRequested()), "abort keeps it so");
    refused(new Shell(List.of()).feed(new ReverseRequested()), "after its cut-over");
  }

  @Test
  void stopEndsEveryNewPhase() {
    for (Shell s : List.of(converging(), cutOver(), pausedCopied(), aborting(), reversing())) {
      s.feed(new StopRequested());
      assertEquals("STOPPED", s.phase.label());
    }
  }

  private static Shell pausedCopied() {
    Shell s = copied();
    s.feed(new PauseRequested());
    return s;
  }

  private static Shell aborting() {
    Shell s = copied();
    s.feed(new AbortRequested());
    return s;
  }

  private static Shell reversing() {
    Shell s = cutOver();
    s.feed(new ReverseRequested());
    return s;
  }

  // ------------------------------------------------------------------ the fold

  @Test
  void theFoldRefusesEventsThatDoNotFollow() {
    Phase copied = VolumeMigration.replay(List.of(new Started(SPEC), new Attached(SIZE, BS), new CopyCompleted()));
    Phase cut = VolumeMigration.replay(List.of(new Started(SPEC), new Attached(SIZE, BS), new CopyCompleted(), new ConvergenceStarted(),
        new PassCompleted(1, 0), new CutOverCompleted()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(copied, new CutOverCompleted()), "no cut-over without converging");
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(copied, new ReverseStarted()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(copied, new MigrationResumed()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(copied, new AbortCompleted()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(cut, new AbortStarted()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(cut, new MigrationPaused()));
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(cut, new ConvergenceStarted()));
    Phase conv = VolumeMigration.apply(copied, new ConvergenceStarted());
    assertThrows(IllegalStateException.class, () -> VolumeMigration.apply(conv, new PassCompleted(2, 0)), "passes in order");
    IllegalStateException back = assertThrows(IllegalStateException.class,
        () -> VolumeMigration.checkForward(cut, conv, new ConvergenceStarted()));
    assertTrue(back.getMessage().contains("CUT_OVER -> CONVERGING"), back.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new VolumeMigration.Paused(new VolumeMigration.CutOver(SPEC, SIZE, BS)));
  }

  @Test
  void randomRequestsNeverTakeAPhaseBackAndACrashResumesWhereTheJournalSays(Seed seed) {
    Random r = seed.random();
    int cutOvers = 0;
    int aborted = 0;
    int reversed = 0;
    for (int run = 0; run < 300; run++) {
      Shell s = new Shell(List.of());
      long now = 0;
      long id = 1;
      for (int step = 0; step < 120; step++) {
        now += r.nextInt(3) * SECOND;
        Phase before = s.phase;
        int pass = before instanceof VolumeMigration.Converging c ? c.pass() : 1;
        Input in = switch (r.nextInt(16)) {
          case 0 -> new Start(SPEC);
          case 1 -> new BackendKnown("b" + r.nextInt(3), SIZE, id++, now);
          case 2 -> new AttachAcknowledged(s.process.attachId(), SIZE, BS);
          case 3 -> new Tick(now, r.nextInt(101), r.nextBoolean(), id++);
          case 4 -> new EveryBlockPresent();
          case 5 -> new ChangePolicy(r.nextBoolean() ? WritePolicy.WRITE_BACK : WritePolicy.TARGET_ONLY);
          case 6, 7 -> new CutOverRequested();
          case 8 -> new PassDone(r.nextInt(4) == 0 ? pass + 1 : pass, r.nextInt(12));
          case 9 -> new PauseRequested();
          case 10 -> new ResumeRequested();
          case 11 -> r.nextInt(12) == 0 ? new AbortRequested() : new Recovered();
          case 12 -> new ReverseRequested();
          case 13 -> new ChangesShipped();
          case 14 -> r.nextInt(20) == 0 ? new StopRequested() : new VolumeMigration.BackendLost();
          default -> new PassDone(pass, r.nextInt(12));
        };
        Decision d = s.feed(in);
        assertTrue(s.phase.order() >= before.order(), seed + ": " + before + " -> " + s.phase + " on " + in);
        assertFalse(d.isIgnored() && !d.events().isEmpty(), "an ignored input records nothing: " + d);
        assertFalse(d.refused() && !d.isIgnored(), "a refusal says why: " + d);
        if (r.nextInt(12) == 0) {
          Shell recovered = s.crash();
          assertEquals(s.phase, recovered.phase, seed + ": the journal alone gives the phase");
          s = recovered;
        }
      }
      cutOvers += s.journal.contains(new CutOverCompleted()) ? 1 : 0;
      aborted += s.journal.contains(new AbortCompleted()) ? 1 : 0;
      reversed += s.journal.contains(new ReverseCompleted()) ? 1 : 0;
    }
    assertTrue(cutOvers > 20 && aborted > 10 && reversed > 5, seed + ": the run reaches every end: " + cutOvers + "/" + aborted + "/" + reversed);
  }
}
