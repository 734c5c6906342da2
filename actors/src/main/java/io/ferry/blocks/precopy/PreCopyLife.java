package io.ferry.blocks.precopy;

import io.ferry.persistence.CborSerializable;
import java.util.List;

/**
 * A hosted pre-copy volume's life at the source member, as its backend journals it: the fold of its
 * events and the decisions the shells take from it, pure (no actor, clock or I/O; times come with
 * the inputs). The change set itself ({@link DirtyBlocks}) is not journaled (a write would cost a
 * journal write before its acknowledgement): the source keeps it in a {@link DirtyBlockLog} next to
 * the image, which a restarted source member reads; only if that log cannot be read is its first
 * pass a full recopy ({@link Recovery#fullRecopy()}), which loses nothing, only link time.
 *
 * <p>Phases: {@code TRACKING} (the workload runs at the source through Ferry's export there, its
 * writes marked; the background copy fills the target), {@code CONVERGING} (the user asked for the
 * cut-over: passes run, or run again once the target's frontend asks, for the request stands until
 * the passes cut over or fail with the target still there), {@code CUT_OVER} (the target is the
 * primary: the source's export refuses writes and never opens again; the target's export serves the
 * workload). The request is journaled here, at the source, because either end may restart while
 * the passes run: a frontend that attaches while it stands is told so ({@link #cutOverStands}) and
 * asks for the passes into its own sink.
 */
public final class PreCopyLife {
  private PreCopyLife() {}

  public enum Phase {
    TRACKING,
    CONVERGING,
    CUT_OVER
  }

  /** What the backend journals. */
  public sealed interface Event extends CborSerializable {}

  /** The source's export opened; {@code recopyAll}: the change set was lost with a member (or a pass broke off). */
  public record Opened(long atMillis, boolean recopyAll) implements Event {}

  /** The user asked for the cut-over (the background copy had every block at the target). */
  public record CutOverRequested(long atMillis) implements Event {}

  /** The passes failed with the target still reachable: the source stays the primary, the request ends (the user may ask again). */
  public record PassesFailed(long atMillis, String reason) implements Event {}

  /**
   * The passes broke off because the target's sink went away (its frontend restarted or moved):
   * the source stays the primary and the request stands; the passes run again into the sink of
   * the frontend that attaches next.
   */
  public record PassesBrokeOff(long atMillis, String reason) implements Event {}

  /** The final pass reached the target with writes held: the target is the primary. */
  public record CutOverDone(long atMillis, int passes, long pauseMillis) implements Event {}

  /**
   * The fold. {@code opens}: how often the source's export opened (a second open is a restart);
   * {@code lastError}: why the passes last broke off ("" if never).
   */
  public record State(Phase phase, int opens, String lastError, long pauseMillis, int passes) {
    public static final State EMPTY = new State(Phase.TRACKING, 0, "", -1, 0);

    public State apply(Event e) {
      if (e instanceof Opened) {
        if (phase == Phase.CUT_OVER) {
          throw new IllegalStateException("the source's export never opens after the cut-over: " + this);
        }
        return new State(phase, opens + 1, lastError, pauseMillis, passes);
      }
      if (e instanceof CutOverRequested) {
        return phase == Phase.TRACKING ? new State(Phase.CONVERGING, opens, lastError, pauseMillis, passes) : this;
      }
      if (e instanceof PassesFailed f) {
        if (phase == Phase.CUT_OVER) {
          throw new IllegalStateException("passes cannot fail after the cut-over: " + this);
        }
        return new State(Phase.TRACKING, opens, f.reason(), pauseMillis, passes);
      }
      if (e instanceof PassesBrokeOff b) {
        if (phase != Phase.CONVERGING) {
          throw new IllegalStateException("passes break off only while converging: " + this);
        }
        return new State(Phase.CONVERGING, opens, b.reason(), pauseMillis, passes);
      }
      CutOverDone d = (CutOverDone) e;
      return new State(Phase.CUT_OVER, opens, lastError, d.pauseMillis(), d.passes());
    }

    public static State of(List<? extends Event> events) {
      State s = EMPTY;
      for (Event e : events) {
        s = s.apply(e);
      }
      return s;
    }
  }

  /**
   * What a backend does on (re)start from its journal.
   *
   * @param openExport serve the workload at the source (false once cut over: it must move on to the target)
   * @param restart the source member served the export before: its change set is read from the change log
   * @param fullRecopy mark every block changed: the change log could not be read ({@link #afterChangeLog})
   * @param reason why, for the log and the status
   */
  public record Recovery(boolean openExport, boolean restart, boolean fullRecopy, String reason) {

    /** This recovery once the change log was read ({@code log}): a full recopy only if it could not be. */
    public Recovery afterChangeLog(DirtyBlockLog.Recovery log) {
      if (!restart) {
        return this;
      }
      if (log.readable()) {
        return new Recovery(openExport, true, false, reason + ": " + log.reason());
      }
      return new Recovery(openExport, true, true, reason + ": " + log.reason() + ", so the next pass recopies every block");
    }
  }

  public static Recovery recover(State s) {
    if (s.phase() == Phase.CUT_OVER) {
      return new Recovery(false, false, false, "cut over: the target is the primary, the source's export stays closed");
    }
    if (s.opens() == 0) {
      return new Recovery(true, false, false, "first start: writes are tracked from now, before the background copy reads any block");
    }
    String resume = cutOverStands(s) ? " with the cut-over request standing: the passes start again once the target's frontend attaches" : "";
    return new Recovery(true, true, false, "the source member restarted (open " + (s.opens() + 1) + ")" + resume);
  }

  /**
   * Whether the user's cut-over request stands: an attaching frontend is told, and asks for the
   * passes into its sink (again, after a restart of either end).
   */
  public static boolean cutOverStands(State s) {
    return s.phase() == Phase.CONVERGING;
  }

  /** What the source does with a frontend's request for the passes. */
  public enum Ask {
    /** Cut over already: tell the frontend, which finishes its side. */
    ALREADY_CUT_OVER,
    /** Start the passes into this frontend's sink. */
    START,
    /** The passes run into this frontend's sink already: a repeat. */
    REPEAT,
    /**
     * The passes run into the sink of an earlier frontend (it restarted or moved): stop them, and
     * start them again into this one's sink once they ended; the target holds what it acknowledged
     * through its own sink only.
     */
    REDIRECT
  }

  /** {@code running}: passes run now; {@code sameAsker}: into the sink of the frontend asking. */
  public static Ask ask(State s, boolean running, boolean sameAsker) {
    if (s.phase() == Phase.CUT_OVER) {
      return Ask.ALREADY_CUT_OVER;
    }
    if (!running) {
      return Ask.START;
    }
    return sameAsker ? Ask.REPEAT : Ask.REDIRECT;
  }

  /**
   * What the journal records when passes end: the cut-over; else, if the target's sink cannot be
   * reached any more ({@code sinkLost}: its frontend went away), a break-off, the request
   * standing; else a failure that ends the request (it would fail the same way again at once).
   */
  public static Event passesEnded(long atMillis, boolean cutOver, boolean sinkLost, String error, int passes, long pauseMillis) {
    if (cutOver) {
      return new CutOverDone(atMillis, passes, pauseMillis);
    }
    if (sinkLost) {
      return new PassesBrokeOff(atMillis, error + "; the target's sink is gone: the cut-over request stands, the passes start again once the target's frontend asks");
    }
    return new PassesFailed(atMillis, error);
  }

  /**
   * Whether the source's export goes on serving the workload once the backend is released: after
   * an abort (the source stays the primary: its workload keeps running there until the volume is
   * stopped), not after the cut-over (the target is the primary).
   */
  public static boolean servesAfterRelease(State s) {
    return s.phase() != Phase.CUT_OVER;
  }

  /** Why a cut-over request is refused ("" when it is accepted or a repeat to ignore). */
  public static String refuseCutOver(State s, boolean targetHasEveryBlock) {
    if (s.phase() == Phase.TRACKING && !targetHasEveryBlock) {
      return "the background copy has not finished: cut over once the status says COPIED (the passes ship only what changed since)";
    }
    return "";
  }

  /**
   * Whether the target's frontend may export the volume to a workload: a pre-copy volume's workload
   * runs at the source until the cut-over, and two primaries would split its writes.
   */
  public static boolean targetExports(boolean preCopy, boolean cutOver) {
    return !preCopy || cutOver;
  }

  /**
   * What {@code ferry volume status} shows of a hosted pre-copy volume: the phase, the mode and
   * why it is write-blocking, each pass's change set, the pause, and any full recopy.
   */
  public record View(
      String phase,
      String mode,
      String writeBlockingReason,
      List<PassView> passes,
      long changedBlocksNow,
      long pauseMillis,
      long writesAcknowledged,
      long writesMirrored,
      long writesRefused,
      String recopy,
      String error) {}

  /** One pass: its number (0 = the first full copy), change set in blocks (-1 for pass 0), time and mode. */
  public record PassView(int pass, long changedBlocks, long millis, boolean writeBlocking, boolean writesHeld) {}

  /** The status from the journal's fold and the running migration's figures ({@code running} null while none runs). */
  public static View view(State s, Recovery recovery, PreCopyMigration.Status running) {
    // A recopy is news only until the cut-over.
    String recopy = recovery.fullRecopy() && s.phase() != Phase.CUT_OVER ? recovery.reason() : "";
    // Failed passes after which the request stands (they broke off): the journal's word, which says so.
    boolean standing = cutOverStands(s) && running != null && running.phase() == PreCopyMigration.Phase.FAILED && !s.lastError().isEmpty();
    // The journal's phase, but the passes' own word once they cut over or failed (the journal follows).
    String phase = standing || s.phase() == Phase.CUT_OVER || running == null
        || (running.phase() != PreCopyMigration.Phase.CUT_OVER && running.phase() != PreCopyMigration.Phase.FAILED) ? s.phase().name() : running.phase().name();
    if (running == null) {
      return new View(phase, PreCopyConvergence.Mode.PRE_COPY.name(), "", List.of(), 0, s.pauseMillis(), 0, 0, 0,
          recopy, s.lastError());
    }
    List<PassView> passes = running.passes().stream()
        .map(p -> new PassView(p.pass(), p.changedBlocks(), p.nanos() / 1_000_000, p.writeBlocking(), p.holdWrites()))
        .toList();
    long pause = running.pauseNanos() >= 0 ? running.pauseNanos() / 1_000_000 : s.pauseMillis();
    String error = standing || running.error().isEmpty() ? s.lastError() : running.error();
    return new View(phase, running.mode().name(), running.modeReason(), passes, running.changedBlocksNow(), pause,
        running.writesAcknowledged(), running.writesMirrored(), running.writesRefused(), recopy, error);
  }
}
