package io.ferry.blocks.precopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The hosted pre-copy life at the source member: its fold, what a restart does, and what the status shows. */
class PreCopyLifeTest {

  @Test
  void aFirstStartTracksFromTheBeginningAndNeedsNoRecopy() {
    PreCopyLife.Recovery r = PreCopyLife.recover(PreCopyLife.State.EMPTY);
    assertTrue(r.openExport());
    assertFalse(r.fullRecopy());
    assertFalse(PreCopyLife.cutOverStands(PreCopyLife.State.EMPTY));
  }

  @Test
  void aRestartedSourceMemberReadsItsChangeLogAndRecopiesEveryBlockOnlyIfItCannot() {
    PreCopyLife.State tracking = PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false)));
    PreCopyLife.Recovery r = PreCopyLife.recover(tracking);
    assertTrue(r.openExport() && r.restart() && !r.fullRecopy() && !PreCopyLife.cutOverStands(tracking), r.toString());
    PreCopyLife.Recovery read = r.afterChangeLog(new DirtyBlockLog.Recovery(true, 12, 5, 0, "read 12 changed blocks"));
    assertFalse(read.fullRecopy(), read.toString());
    assertTrue(read.reason().contains("read 12 changed blocks"), read.reason());
    PreCopyLife.Recovery lost = r.afterChangeLog(new DirtyBlockLog.Recovery(false, 128, 0, 0, "the change log x is missing"));
    assertTrue(lost.fullRecopy(), lost.toString());
    assertTrue(lost.reason().contains("is missing") && lost.reason().contains("recopies every block"), lost.reason());

    PreCopyLife.State converging = tracking.apply(new PreCopyLife.CutOverRequested(2));
    assertEquals(PreCopyLife.Phase.CONVERGING, converging.phase());
    PreCopyLife.Recovery again = PreCopyLife.recover(converging).afterChangeLog(new DirtyBlockLog.Recovery(true, 3, 1, 0, "read 3"));
    assertTrue(again.openExport() && !again.fullRecopy() && PreCopyLife.cutOverStands(converging), again.toString());
    assertTrue(again.reason().contains("cut-over request standing"), again.reason());
    // A first start reads no log, whatever it would say.
    PreCopyLife.Recovery first = PreCopyLife.recover(PreCopyLife.State.EMPTY);
    assertEquals(first, first.afterChangeLog(new DirtyBlockLog.Recovery(false, 128, 0, 0, "missing")));
  }

  @Test
  void afterTheCutOverTheSourceNeverServesAgain() {
    PreCopyLife.State s = PreCopyLife.State.of(List.of(
        new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2), new PreCopyLife.CutOverDone(3, 4, 120)));
    assertEquals(PreCopyLife.Phase.CUT_OVER, s.phase());
    assertEquals(120, s.pauseMillis());
    PreCopyLife.Recovery r = PreCopyLife.recover(s);
    assertFalse(r.openExport() || r.fullRecopy() || PreCopyLife.cutOverStands(s), r.toString());
    // A journal that would open the source after the cut-over is a bug: two primaries.
    assertThrows(IllegalStateException.class, () -> s.apply(new PreCopyLife.Opened(4, true)));
    assertThrows(IllegalStateException.class, () -> s.apply(new PreCopyLife.PassesFailed(4, "x")));
    assertTrue(PreCopyLife.targetExports(true, true));
    assertFalse(PreCopyLife.servesAfterRelease(s), "once cut over, a released backend closes the source's export");
    assertTrue(PreCopyLife.servesAfterRelease(PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false)))), "after an abort the workload stays at the source");
  }

  @Test
  void failedPassesLeaveTheSourcePrimaryAndSayWhy() {
    PreCopyLife.State s = PreCopyLife.State.of(List.of(
        new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2), new PreCopyLife.PassesFailed(3, "target unreachable")));
    assertEquals(PreCopyLife.Phase.TRACKING, s.phase());
    assertEquals("target unreachable", s.lastError());
    assertEquals("target unreachable", PreCopyLife.view(s, PreCopyLife.recover(s), null).error());
    // The user may ask again; a repeat while converging changes nothing.
    PreCopyLife.State again = s.apply(new PreCopyLife.CutOverRequested(4));
    assertEquals(again, again.apply(new PreCopyLife.CutOverRequested(5)));
  }

  @Test
  void passesThatLoseTheTargetsSinkKeepTheRequestStandingAcrossARestartOfTheSource() {
    PreCopyLife.State converging = PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2)));
    PreCopyLife.Event e = PreCopyLife.passesEnded(3, false, true, "the sink broke off", 1, -1);
    assertTrue(e instanceof PreCopyLife.PassesBrokeOff, e.toString());
    PreCopyLife.State brokeOff = converging.apply(e);
    assertEquals(PreCopyLife.Phase.CONVERGING, brokeOff.phase());
    assertTrue(PreCopyLife.cutOverStands(brokeOff), "the target's restart does not end the user's request");
    assertTrue(brokeOff.lastError().contains("the sink broke off") && brokeOff.lastError().contains("request stands"), brokeOff.lastError());
    PreCopyLife.View v = PreCopyLife.view(brokeOff, PreCopyLife.recover(brokeOff), null);
    assertEquals("CONVERGING", v.phase());
    assertTrue(v.error().contains("request stands"), "the status says what happened and what comes: " + v);
    // With the failed passes' figures at hand (the source member did not restart), the same.
    PreCopyMigration.Status failedPasses = new PreCopyMigration.Status(PreCopyMigration.Phase.FAILED, PreCopyConvergence.Mode.PRE_COPY, "", List.of(), 40, -1, 0, 0, 40, 0, 0,
        "the sink broke off");
    PreCopyLife.View withFigures = PreCopyLife.view(brokeOff, PreCopyLife.recover(brokeOff), failedPasses);
    assertEquals("CONVERGING", withFigures.phase(), withFigures.toString());
    assertTrue(withFigures.error().contains("request stands"), withFigures.toString());
    // Failed passes that end the request show FAILED and their error.
    PreCopyLife.State failed = converging.apply(PreCopyLife.passesEnded(3, false, false, "the sink broke off", 1, -1));
    assertEquals("FAILED", PreCopyLife.view(failed, PreCopyLife.recover(failed), failedPasses).phase());
    // The source member restarts too: its journal still holds the request, and its recovery says so.
    PreCopyLife.State recovered = PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2), e, new PreCopyLife.Opened(4, false)));
    assertTrue(PreCopyLife.cutOverStands(recovered));
    assertTrue(PreCopyLife.recover(brokeOff).reason().contains("passes start again"), PreCopyLife.recover(brokeOff).reason());
    // The next frontend's passes cut over.
    PreCopyLife.State over = recovered.apply(PreCopyLife.passesEnded(5, true, false, "", 2, 80));
    assertEquals(PreCopyLife.Phase.CUT_OVER, over.phase());
    assertFalse(PreCopyLife.cutOverStands(over));
    assertEquals(80, over.pauseMillis());
    // A break-off is news only while converging: anything else is a bug in the shell.
    assertThrows(IllegalStateException.class, () -> PreCopyLife.State.EMPTY.apply(e));
    assertThrows(IllegalStateException.class, () -> over.apply(e));
  }

  @Test
  void passesThatFailWithTheTargetReachableEndTheRequest() {
    PreCopyLife.State converging = PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2)));
    PreCopyLife.Event e = PreCopyLife.passesEnded(3, false, false, "passes timed out", 3, -1);
    assertEquals(new PreCopyLife.PassesFailed(3, "passes timed out"), e);
    PreCopyLife.State failed = converging.apply(e);
    assertFalse(PreCopyLife.cutOverStands(failed), "a failure that would repeat at once ends the request: the user asks again");
    assertEquals(PreCopyLife.Phase.TRACKING, failed.phase());
  }

  @Test
  void aFrontendAskingWhilePassesRunIntoAnotherFrontendsSinkRedirectsThem() {
    PreCopyLife.State converging = PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2)));
    assertEquals(PreCopyLife.Ask.START, PreCopyLife.ask(PreCopyLife.State.EMPTY, false, false));
    assertEquals(PreCopyLife.Ask.START, PreCopyLife.ask(converging, false, true), "a standing request after a restart starts the passes");
    assertEquals(PreCopyLife.Ask.REPEAT, PreCopyLife.ask(converging, true, true));
    assertEquals(PreCopyLife.Ask.REDIRECT, PreCopyLife.ask(converging, true, false), "passes into a restarted frontend's old sink are stopped and run again into its new one");
    PreCopyLife.State over = converging.apply(new PreCopyLife.CutOverDone(3, 2, 50));
    assertEquals(PreCopyLife.Ask.ALREADY_CUT_OVER, PreCopyLife.ask(over, false, false));
    assertEquals(PreCopyLife.Ask.ALREADY_CUT_OVER, PreCopyLife.ask(over, true, false));
  }

  @Test
  void theTargetExportsAPreCopyVolumeOnlyAfterTheCutOver() {
    assertFalse(PreCopyLife.targetExports(true, false));
    assertTrue(PreCopyLife.targetExports(false, false));
  }

  @Test
  void aCutOverBeforeTheBackgroundCopyEndedIsRefusedWithWhatToDo() {
    String why = PreCopyLife.refuseCutOver(PreCopyLife.State.EMPTY, false);
    assertTrue(why.contains("COPIED"), why);
    assertEquals("", PreCopyLife.refuseCutOver(PreCopyLife.State.EMPTY, true));
  }

  @Test
  void theViewShowsPassesThePauseAndWhyWritesBlock() {
    PreCopyLife.State s = PreCopyLife.State.of(List.of(new PreCopyLife.Opened(1, false), new PreCopyLife.CutOverRequested(2)));
    PreCopyMigration.Status running = new PreCopyMigration.Status(
        PreCopyMigration.Phase.CUT_OVER, PreCopyConvergence.Mode.WRITE_BLOCKING, "pass 2 shipped 10 blocks and 12 were written meanwhile",
        List.of(new PreCopyConvergence.PassRecord(0, -1, 0, false, false),
            new PreCopyConvergence.PassRecord(1, 30, 2_000_000_000L, false, false),
            new PreCopyConvergence.PassRecord(2, 10, 1_000_000_000L, false, false),
            new PreCopyConvergence.PassRecord(3, 12, 500_000_000L, true, false),
            new PreCopyConvergence.PassRecord(4, 0, 90_000_000L, true, true)),
        0, 90_000_000L, 52, 52 * 4096, 400, 30, 3, "");
    PreCopyLife.View v = PreCopyLife.view(s, PreCopyLife.recover(s).afterChangeLog(new DirtyBlockLog.Recovery(false, 128, 0, 0, "the change log x has a damaged header")), running);
    assertEquals("CUT_OVER", v.phase());
    assertEquals("WRITE_BLOCKING", v.mode());
    assertTrue(v.writeBlockingReason().contains("written meanwhile"));
    assertEquals(5, v.passes().size());
    assertEquals(30, v.passes().get(1).changedBlocks());
    assertEquals(2000, v.passes().get(1).millis());
    assertTrue(v.passes().get(4).writesHeld());
    assertEquals(90, v.pauseMillis());
    assertEquals(30, v.writesMirrored());
    assertTrue(v.recopy().contains("damaged header") && v.recopy().contains("recopies every block"), v.recopy()); // a restart whose log was unreadable
    PreCopyLife.View read = PreCopyLife.view(s, PreCopyLife.recover(s).afterChangeLog(new DirtyBlockLog.Recovery(true, 3, 1, 0, "read 3")), running);
    assertEquals("", read.recopy(), "a change set read from its log is no recopy");
  }
}
