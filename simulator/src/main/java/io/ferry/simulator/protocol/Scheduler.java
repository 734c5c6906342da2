package io.ferry.simulator.protocol;

import io.ferry.persistence.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The discrete-event loop of a protocol simulation: events ordered by (simulated time, insertion
 * order), a simulated clock in microseconds, and a SHA-256 over every event it runs ("time|who|
 * kind|detail"), so two runs of one seed can be compared by one hash.
 */
public final class Scheduler {
  /** Trace lines kept for error reports. */
  private static final int RECENT_MAX = 40;

  private record Entry(long atMicros, long seq, String who, String kind, String detail, Runnable action) {}

  private final PriorityQueue<Entry> queue =
      new PriorityQueue<>((a, b) -> a.atMicros != b.atMicros ? Long.compare(a.atMicros, b.atMicros) : Long.compare(a.seq, b.seq));
  private final MessageDigest digest;
  private final ArrayDeque<String> recent = new ArrayDeque<>();
  private long nowMicros;
  private long seq;
  private long processed;

  public Scheduler() {
    digest = Sha256.create();
  }

  public long nowMicros() {
    return nowMicros;
  }

  public long processed() {
    return processed;
  }

  /** Runs {@code action} {@code delayMicros} from now; {@code detail} goes into the trace. */
  public void after(long delayMicros, String who, String kind, String detail, Runnable action) {
    if (delayMicros < 0) {
      throw new IllegalArgumentException("cannot schedule in the past: " + delayMicros + " us");
    }
    queue.add(new Entry(nowMicros + delayMicros, seq++, who, kind, detail, action));
  }

  /** Runs the next event; false when there is none. */
  public boolean step() {
    Entry e = queue.poll();
    if (e == null) {
      return false;
    }
    nowMicros = e.atMicros;
    String line = e.atMicros + "|" + e.who + "|" + e.kind + "|" + e.detail + "\n";
    digest.update(line.getBytes(StandardCharsets.UTF_8));
    if (recent.size() == RECENT_MAX) {
      recent.removeFirst();
    }
    recent.addLast(line.strip());
    processed++;
    e.action.run();
    return true;
  }

  /** The last events run, oldest first: the trace excerpt of a failure. */
  public List<String> recent() {
    return new ArrayList<>(recent);
  }

  /** The hash of every event run so far; ends the digest, so call it once at the end. */
  public String traceHash() {
    return HexFormat.of().formatHex(digest.digest());
  }
}
