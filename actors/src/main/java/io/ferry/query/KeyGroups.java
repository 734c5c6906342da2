package io.ferry.query;

import java.util.ArrayList;
import java.util.List;

/**
 * How a keyed node with parallelism spreads its keys over its instances. A key hashes to one of
 * {@link #COUNT} key groups, fixed for the life of a query; instance {@code i} of {@code p} owns
 * one contiguous range of groups. Rescaling moves whole groups (and their state) between
 * instances, never splits one, so a key's state always lives in exactly one instance.
 */
public final class KeyGroups {
  /**
   * Key groups of every keyed node: the unit a rescale moves. Enough to spread keys evenly over
   * {@link #PARALLELISM_MAX} instances, few enough that a group's state is worth moving.
   */
  public static final int COUNT = 128;

  /** Instances of one keyed node at most (its {@code maxParallelism}). */
  public static final int PARALLELISM_MAX = 32;

  private KeyGroups() {}

  /** The key group of a key given as text (a window's state holds keys as text); null keys go to group 0. */
  public static int group(String keyText) {
    if (keyText == null) {
      return 0;
    }
    // String.hashCode is specified by the JLS, so every member and the reference run agree; the
    // mix spreads keys like "k1", "k2" that differ only in their last character.
    int h = keyText.hashCode() * 0x9E3779B9;
    h ^= h >>> 16;
    return Math.floorMod(h, COUNT);
  }

  /** The key group of a key value (String, Long or Boolean), through its text as a window stores it. */
  public static int groupOf(Object key) {
    return group(key == null ? null : key instanceof String s ? s : key.toString());
  }

  /** A half-open range {@code [first, end)} of key groups; empty for an idle instance. */
  public record Range(int first, int end) {
    public static final Range NONE = new Range(0, 0);

    public Range {
      if (first < 0 || end > COUNT || first > end) {
        throw new IllegalArgumentException("a key-group range lies within [0, " + COUNT + "), got [" + first + ", " + end + ")");
      }
    }

    public boolean contains(int group) {
      return group >= first && group < end;
    }

    public boolean isEmpty() {
      return first == end;
    }

    public int size() {
      return end - first;
    }

    @Override
    public String toString() {
      return "[" + first + "," + end + ")";
    }
  }

  /** The groups instance {@code instance} of {@code parallelism} owns; instances at or past the parallelism own none. */
  public static Range range(int instance, int parallelism) {
    checkParallelism(parallelism);
    if (instance < 0) {
      throw new IllegalArgumentException("an instance index is >= 0, got " + instance);
    }
    if (instance >= parallelism) {
      return Range.NONE;
    }
    return new Range(ceilDiv(instance * COUNT, parallelism), ceilDiv((instance + 1) * COUNT, parallelism));
  }

  /** The instance of {@code parallelism} that owns {@code group}: the inverse of {@link #range}. */
  public static int owner(int group, int parallelism) {
    checkParallelism(parallelism);
    if (group < 0 || group >= COUNT) {
      throw new IllegalArgumentException("a key group lies within [0, " + COUNT + "), got " + group);
    }
    return group * parallelism / COUNT;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  public static void checkParallelism(int parallelism) {
    if (parallelism < 1 || parallelism > PARALLELISM_MAX) {
      throw new IllegalArgumentException("parallelism must be 1.." + PARALLELISM_MAX + ", got " + parallelism);
    }
  }

  /** The node id of instance {@code i} of keyed node {@code node}: {@code <node>.<i>}. */
  public static NodeId instanceId(NodeId node, int i) {
    return new NodeId(node.value() + "." + i);
  }

  /** The ids of all {@code maxParallelism} instances of {@code node}, in index order. */
  public static List<NodeId> instanceIds(NodeId node, int maxParallelism) {
    List<NodeId> ids = new ArrayList<>();
    for (int i = 0; i < maxParallelism; i++) {
      ids.add(instanceId(node, i));
    }
    return ids;
  }

  /** One group changing owner in a rescale. */
  public record Move(int group, int from, int to) {}

  /** The groups that change owner when {@code from} instances become {@code to}, in group order. */
  public static List<Move> moves(int from, int to) {
    List<Move> moves = new ArrayList<>();
    for (int g = 0; g < COUNT; g++) {
      int a = owner(g, from);
      int b = owner(g, to);
      if (a != b) {
        moves.add(new Move(g, a, b));
      }
    }
    return moves;
  }
}
