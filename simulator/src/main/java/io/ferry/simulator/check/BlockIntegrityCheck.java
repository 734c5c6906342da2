package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Block integrity of migrated volumes: during the migration every read returned the last
 * acknowledged write (or the source's bytes where nothing was written), and at the end each volume
 * read back in full equals the reference (the source image with every acknowledged write applied).
 * Takes plain observations, not simulator internals.
 */
public final class BlockIntegrityCheck {
  public static final String NAME = "block-integrity";
  private static final int EXAMPLES_MAX = 5;

  /** A read at {@code atMillis} of [offset, offset+length) differed from the reference first at {@code firstDifference}. */
  public record ReadMismatch(String volume, long atMillis, long offset, int length, long firstDifference) {}

  /**
   * A volume's final state: {@code verified} when it was read back in full; {@code firstDifference}
   * is the first byte that differs from the reference, or -1.
   */
  public record FinalState(boolean verified, long firstDifference, String why) {}

  private BlockIntegrityCheck() {}

  /** The first index where the two differ, or -1 when they are equal (a length difference counts). */
  public static long firstDifference(byte[] expected, int expectedOffset, byte[] actual, int length) {
    if (actual.length < length) {
      return actual.length;
    }
    for (int i = 0; i < length; i++) {
      if (expected[expectedOffset + i] != actual[i]) {
        return i;
      }
    }
    return -1;
  }

  public static RunReport.Verdict check(long reads, long writes, List<ReadMismatch> mismatches, Map<String, FinalState> finals) {
    List<String> problems = new ArrayList<>();
    for (ReadMismatch m : mismatches.subList(0, Math.min(EXAMPLES_MAX, mismatches.size()))) {
      problems.add("read of " + m.volume() + " [" + m.offset() + ", +" + m.length() + ") at " + m.atMillis() + " ms differs at byte " + (m.offset() + m.firstDifference()));
    }
    for (Map.Entry<String, FinalState> e : new TreeMap<>(finals).entrySet()) {
      FinalState f = e.getValue();
      if (!f.verified()) {
        problems.add(e.getKey() + " could not be read back in full: " + f.why());
      } else if (f.firstDifference() >= 0) {
        problems.add(e.getKey() + " differs from the reference at byte " + f.firstDifference());
      }
    }
    if (finals.isEmpty()) {
      problems.add("no volume was checked");
    }
    boolean ok = problems.isEmpty();
    String detail =
        ok
            ? reads + " reads and " + writes + " acknowledged writes consistent; " + finals.size() + " volume(s) equal the reference"
            : mismatches.size() + " read mismatch(es); " + problems;
    return new RunReport.Verdict(NAME, ok, detail);
  }
}
