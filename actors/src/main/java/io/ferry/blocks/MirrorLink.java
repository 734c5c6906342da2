package io.ferry.blocks;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The primary frontend's side of a clustered volume, without actors: every write is held by the
 * mirror (the second frontend) before the export acknowledges it, and a fill copies to the mirror
 * every other block the primary holds, a window at a time, so the mirror ends up a full replica
 * ("in sync"). Thread-safe: NBD I/O threads send holds, the frontend actor delivers acknowledgements
 * and mirror changes and runs the fill on its tick.
 *
 * <p>With no mirror assigned (the second frontend's member died, or there is no second member at
 * the target site) a write is by default held ({@link Unmirrored#HOLD}) until the registry names a
 * new mirror and that one holds it, because a write the primary alone acknowledged would be lost
 * if the primary's member died next; one held longer than the hold limit fails (the client gets an
 * I/O error, and the primary still sends the block to the next mirror with the fill). {@link
 * Unmirrored#DEGRADED}, opt-in, acknowledges on the primary alone instead and counts those writes
 * in the status. A new mirror starts empty: every unacknowledged hold is sent to it again under a
 * new id (a late acknowledgement from the old one never counts) and the fill copies everything
 * again.
 */
public final class MirrorLink implements FrontendVolume.Mirror {

  /**
   * One block for the mirror ({@code block} -1: a flush); {@code data} null: all zeros; {@code
   * pending} the primary's change-log sequence of a write the source lacks (0: none).
   */
  public record Hold(long id, long block, long version, byte[] data, boolean localWrite, long pending) {}

  /** What a write made while there is no mirror waits for ({@code ferry.blocks.mirror.unmirrored-writes}). */
  public enum Unmirrored {
    /** Until a new mirror holds it, at most the hold limit (then it fails): a write is always on two copies. */
    HOLD,
    /** Nothing: the primary alone acknowledges it, and the status counts it as on one copy. */
    DEGRADED
  }

  /** Thrown to a write held with no mirror for longer than the hold limit. */
  public static final class NoMirrorException extends java.io.IOException {
    NoMirrorException(long heldMillis) {
      super("no mirror held this write within " + heldMillis + " ms (ferry.blocks.mirror.hold-limit): the clustered volume has one live frontend");
    }
  }

  /** Sends to the current mirror (an actor tell: never blocks). */
  public interface Sender {
    void send(Hold hold);
  }

  /**
   * The mirror as the status shows it.
   *
   * @param state {@code in-sync} (the mirror holds every block the primary holds), {@code syncing},
   *     or {@code none} (writes are acknowledged by the primary alone)
   * @param waiting writes and fills sent and not yet acknowledged by the mirror
   * @param unmirroredWrites writes acknowledged by the primary alone (with no mirror, under {@link Unmirrored#DEGRADED})
   * @param failedWrites writes that failed after waiting the hold limit for a mirror (under {@link Unmirrored#HOLD})
   */
  public record Status(String member, String state, long mirroredBlocks, long presentBlocks, long waiting, long mirroredWrites, long unmirroredWrites, long failedWrites) {}

  private static final class Entry {
    Hold hold;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final boolean fill;
    long sentNanos;
    /** Since when it waits with no mirror to send it to (meaningful while there is none). */
    long unmirroredSinceNanos;

    Entry(Hold hold, boolean fill, long now) {
      this.hold = hold;
      this.fill = fill;
      this.sentNanos = now;
      this.unmirroredSinceNanos = now;
    }
  }

  private final LongSupplier nanoClock;
  private final int fillWindow;
  private final long resendNanos;
  private final Unmirrored unmirrored;
  private final long holdLimitNanos;
  private Sender target;
  private Object identity;
  private String member = "";
  private long nextId = 1;
  private final Map<Long, Entry> outstanding = new LinkedHashMap<>();
  private final BitSet mirrored = new BitSet();
  private final BitSet filling = new BitSet();
  private int fillsInFlight;
  private long presentAtLastTick;
  private boolean inSync;
  private long mirroredWrites;
  private long unmirroredWrites;
  private long failedWrites;
  /** The export the fill reads from (set by the first tick); an acknowledged fill sends the next at once. */
  private FrontendVolume filled;

  /**
   * @param fillWindow fills in flight at most (bounds the memory and the cluster channel they take)
   * @param resendNanos a hold unacknowledged this long is sent again (a message lost with a connection)
   * @param unmirrored what a write made with no mirror waits for
   * @param holdLimitNanos under {@link Unmirrored#HOLD}, how long a write waits with no mirror before it fails
   */
  public MirrorLink(LongSupplier nanoClock, int fillWindow, long resendNanos, Unmirrored unmirrored, long holdLimitNanos) {
    if (fillWindow < 1) {
      throw new IllegalArgumentException("fill window must be >= 1, got " + fillWindow);
    }
    if (holdLimitNanos <= 0) {
      throw new IllegalArgumentException("hold limit must be positive, got " + holdLimitNanos + " ns");
    }
    this.nanoClock = nanoClock;
    this.fillWindow = fillWindow;
    this.resendNanos = resendNanos;
    this.unmirrored = java.util.Objects.requireNonNull(unmirrored, "unmirrored");
    this.holdLimitNanos = holdLimitNanos;
  }

  /**
   * The mirror is now {@code sender} ({@code identity} tells one mirror from another; null: no
   * mirror). Returns whether that changed anything.
   */
  public boolean use(Sender sender, Object identity, String member) {
    List<CompletableFuture<Void>> release = new ArrayList<>();
    synchronized (this) {
      if (java.util.Objects.equals(identity, this.identity)) {
        return false;
      }
      this.identity = identity;
      this.target = identity == null ? null : sender;
      this.member = identity == null ? "" : member;
      mirrored.clear();
      filling.clear();
      fillsInFlight = 0;
      inSync = false;
      long now = nanoClock.getAsLong();
      List<Entry> again = new ArrayList<>(outstanding.values());
      outstanding.clear();
      for (Entry e : again) {
        if (e.fill) {
          e.done.complete(null);
        } else if (target == null && unmirrored == Unmirrored.DEGRADED) {
          release.add(e.done); // no mirror any more: the primary alone acknowledges, as configured
          if (e.hold.block() >= 0) {
            unmirroredWrites++;
          }
        } else if (target == null) {
          // Waits here for the next mirror (at most the hold limit), under a new id: a late
          // answer from the mirror that is gone must not acknowledge a write no mirror holds.
          e.unmirroredSinceNanos = now;
          long id = nextId++;
          Hold h = e.hold;
          e.hold = new Hold(id, h.block(), h.version(), h.data(), h.localWrite(), h.pending());
          outstanding.put(id, e);
        } else {
          long id = nextId++;
          Hold h = e.hold;
          e.hold = new Hold(id, h.block(), h.version(), h.data(), h.localWrite(), h.pending());
          e.sentNanos = now;
          outstanding.put(id, e);
          target.send(e.hold);
        }
      }
    }
    release.forEach(f -> f.complete(null));
    return true;
  }

  @Override
  public CompletionStage<Void> hold(long block, long version, byte[] data, boolean localWrite, long pending) {
    return send(block, version, data, localWrite, pending, false);
  }

  @Override
  public CompletionStage<Void> flush() {
    return send(-1, 0, null, false, 0, false);
  }

  private synchronized CompletionStage<Void> send(long block, long version, byte[] data, boolean localWrite, long pending, boolean fill) {
    if (target == null && (fill || unmirrored == Unmirrored.DEGRADED)) {
      if (!fill && block >= 0) {
        unmirroredWrites++;
      }
      return CompletableFuture.completedFuture(null);
    }
    long id = nextId++;
    Entry e = new Entry(new Hold(id, block, version, data, localWrite, pending), fill, nanoClock.getAsLong());
    outstanding.put(id, e);
    if (target != null) {
      target.send(e.hold);
    }
    return e.done;
  }

  /** The mirror holds what hold {@code id} carried. */
  public void held(long id) {
    Entry e;
    FrontendVolume next = null;
    synchronized (this) {
      e = outstanding.remove(id);
      if (e == null) {
        return; // a late answer: to an id sent again, or from a mirror no longer used
      }
      if (e.hold.block() >= 0) {
        mirrored.set((int) e.hold.block());
        if (!e.fill) {
          mirroredWrites++;
        }
      }
      if (e.fill) {
        filling.clear((int) e.hold.block());
        fillsInFlight--;
        next = filled;
      }
    }
    e.done.complete(null);
    if (next != null) {
      fill(next); // keeps the window full: a fill per tick alone would copy 16 blocks per tick
    }
  }

  /**
   * With no mirror, fails the writes held longer than the hold limit. Otherwise sends again the
   * holds unacknowledged for the resend time, then fills: sends the mirror up to
   * the window of blocks {@code core} holds that the mirror does not (each read with its version).
   */
  public void tick(FrontendVolume core) {
    if (!core.hasGeometry()) {
      return;
    }
    List<CompletableFuture<Void>> fail = new ArrayList<>();
    synchronized (this) {
      filled = core;
      if (target == null) {
        long now = nanoClock.getAsLong();
        for (java.util.Iterator<Entry> it = outstanding.values().iterator(); it.hasNext(); ) {
          Entry e = it.next();
          if (now - e.unmirroredSinceNanos > holdLimitNanos) {
            it.remove();
            fail.add(e.done);
            if (e.hold.block() >= 0) {
              failedWrites++;
            }
          }
        }
      }
    }
    if (!fail.isEmpty()) {
      NoMirrorException why = new NoMirrorException(TimeUnit.NANOSECONDS.toMillis(holdLimitNanos));
      fail.forEach(f -> f.completeExceptionally(why));
    }
    synchronized (this) {
      if (target == null) {
        return;
      }
      long now = nanoClock.getAsLong();
      for (Entry e : outstanding.values()) {
        if (now - e.sentNanos > resendNanos) {
          e.sentNanos = now;
          target.send(e.hold);
        }
      }
    }
    fill(core);
  }

  private void fill(FrontendVolume core) {
    BitSet present = core.present();
    synchronized (this) {
      if (target == null) {
        return;
      }
      presentAtLastTick = present.cardinality();
      BitSet missing = (BitSet) present.clone();
      missing.andNot(mirrored);
      inSync = missing.isEmpty();
      missing.andNot(filling);
      for (int b = missing.nextSetBit(0); b >= 0 && fillsInFlight < fillWindow; b = missing.nextSetBit(b + 1)) {
        Optional<FrontendVolume.Snapshot> s = core.snapshot(b);
        if (s.isEmpty()) {
          continue;
        }
        FrontendVolume.Snapshot snap = s.get();
        filling.set(b);
        fillsInFlight++;
        send(b, snap.version(), snap.data(), snap.localWrite(), snap.pending(), true);
      }
    }
  }

  public synchronized Status status() {
    String state = target == null ? "none" : inSync ? "in-sync" : "syncing";
    return new Status(member, state, mirrored.cardinality(), presentAtLastTick, outstanding.size(), mirroredWrites, unmirroredWrites, failedWrites);
  }

  public synchronized boolean inSync() {
    return target != null && inSync;
  }
}
