package io.ferry.query.ops;

import io.ferry.query.KeyGroups;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Splits and merges the state of a keyed window's instances by key group, for a rescale: pure
 * functions over the instances' {@link WindowState}s, all cut at the same input anchor.
 */
public final class KeyedWindows {
  private KeyedWindows() {}

  /**
   * The state an instance owning {@code range} holds after the rescale: every open accumulator of a
   * key in {@code range}, wherever it was, in window then key order. All instances read the same
   * rows up to the cut, so their event-time maximum is one; the counters of dropped rows are
   * per-instance figures and stay with {@code own} (the instance's state before, null for none).
   *
   * @throws IllegalStateException when two instances hold the same window and key: the state of a
   *     key lives in one instance only, so the cut is not a consistent one
   */
  public static WindowState regroup(WindowState own, List<WindowState> all, KeyGroups.Range range) {
    long max = Long.MIN_VALUE;
    List<WindowAcc> accs = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (WindowState s : all) {
      if (s == null) {
        continue;
      }
      max = Math.max(max, s.maxEventTime());
      for (WindowAcc a : s.open()) {
        if (!range.contains(KeyGroups.group(a.key()))) {
          continue;
        }
        if (!seen.add(a.windowStart() + "/" + a.key())) {
          throw new IllegalStateException(
              "window " + a.windowStart() + " key '" + a.key() + "' is held by two instances: the rescale's cut is inconsistent");
        }
        accs.add(a);
      }
    }
    accs.sort(Comparator.comparingLong(WindowAcc::windowStart).thenComparing(WindowAcc::key));
    return new WindowState(max, own == null ? 0 : own.lateDropped(), own == null ? 0 : own.nullDropped(), accs);
  }

  /** Open accumulators a state holds: what a rescale moves. */
  public static int entries(WindowState s) {
    return s == null ? 0 : s.open().size();
  }
}
