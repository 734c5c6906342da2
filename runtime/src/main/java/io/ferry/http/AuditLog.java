package io.ferry.http;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who did what on the management endpoint, and how it ended: every request that needs a role
 * (allowed or refused) is one entry, logged on the {@code ferry.audit} logger (changes and
 * refusals at INFO, reads at DEBUG, so a polling console does not flood it) and kept in a bounded
 * ring that {@code GET /audit} (admin) returns, newest last.
 */
public final class AuditLog {
  static final Logger log = LoggerFactory.getLogger("ferry.audit");

  /**
   * @param who the token's name, or {@code anonymous} when none was accepted
   * @param outcome {@code allowed}, {@code unauthenticated} (401) or {@code forbidden} (403)
   * @param status the HTTP status answered
   */
  public record Entry(long atEpochMs, String who, String role, String method, String path, String outcome, int status) {}

  private final int entriesMax;
  private final ArrayDeque<Entry> ring;

  public AuditLog(int entriesMax) {
    if (entriesMax < 1 || entriesMax > 1_000_000) {
      throw new IllegalArgumentException("ferry.security.http.audit-entries-max must be 1..1000000, got " + entriesMax);
    }
    this.entriesMax = entriesMax;
    this.ring = new ArrayDeque<>(Math.min(entriesMax, 1024));
  }

  public void record(Entry e) {
    boolean changes = !e.method().equals("GET") && !e.method().equals("HEAD");
    if (changes || !e.outcome().equals("allowed")) {
      log.info("who={} role={} op=\"{} {}\" outcome={} status={}", e.who(), e.role(), e.method(), e.path(), e.outcome(), e.status());
    } else {
      log.debug("who={} role={} op=\"{} {}\" outcome={} status={}", e.who(), e.role(), e.method(), e.path(), e.outcome(), e.status());
    }
    synchronized (ring) {
      if (ring.size() == entriesMax) {
        ring.removeFirst();
      }
      ring.addLast(e);
    }
  }

  /** The kept entries, oldest first. */
  public List<Entry> entries() {
    synchronized (ring) {
      return new ArrayList<>(ring);
    }
  }
}
