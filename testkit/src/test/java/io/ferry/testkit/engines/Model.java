package io.ferry.testkit.engines;

import io.ferry.query.NodeDef;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.ops.Operators;
import io.ferry.query.ops.SourceReader;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A small reference model of the graph spec's semantics, written straight from the operators'
 * documentation and sharing none of their code (only the sources' row generation): every window
 * kind judges lateness row by row, tumbling and hopping windows come out in (start, key) order,
 * sessions in (end, key) order, a window join's pairs in (window, key, left, right) order. The
 * property tests hold both engines to it.
 */
final class Model {
  private Model() {}

  static List<Row> run(RandomSpecs.Spec spec) {
    QueryGraph g = spec.graph();
    Map<NodeId, List<Row>> out = new HashMap<>();
    for (NodeSpec n : g.compile()) {
      OperatorSpec op = n.op();
      List<List<Row>> in = n.inputs().stream().map(out::get).toList();
      List<Row> rows;
      if (op.isSource()) {
        rows = read(n);
      } else if (op instanceof OperatorSpec.Filter f) {
        Predicate.Compare c = (Predicate.Compare) f.predicate();
        long min = (Long) c.literal();
        rows = in.get(0).stream().filter(r -> (Long) r.get(1) >= min).toList();
      } else if (op instanceof OperatorSpec.Calc) {
        rows = in.get(0).stream().filter(r -> (Long) r.get(1) % 2 == 0).map(r -> Row.of(r.get(0), (Long) r.get(1) * 2, r.get(2), r.get(3))).toList();
      } else if (op instanceof OperatorSpec.Window w) {
        rows = windows(in.get(0), w.sizeMs(), w.sizeMs(), w.allowedLatenessMs());
      } else if (op instanceof OperatorSpec.HopWindow w) {
        rows = windows(in.get(0), w.sizeMs(), w.slideMs(), w.allowedLatenessMs());
      } else if (op instanceof OperatorSpec.SessionWindow w) {
        rows = sessions(in.get(0), w.gapMs(), w.allowedLatenessMs());
      } else if (op instanceof OperatorSpec.WindowJoin j) {
        rows = join(in.get(0), in.get(1), j.sizeMs(), j.allowedLatenessMs());
      } else {
        rows = new ArrayList<>();
        in.forEach(rows::addAll);
      }
      out.put(n.id(), rows);
    }
    NodeDef sink = g.nodes().stream().filter(x -> x.op().isSink()).findFirst().orElseThrow();
    return out.get(sink.id());
  }

  private static List<Row> read(NodeSpec n) {
    List<Row> rows = new ArrayList<>();
    try (SourceReader r = Operators.source(n)) {
      long anchor = 0;
      while (true) {
        SourceReader.Read read = r.read(anchor, 10_000);
        rows.addAll(read.rows());
        anchor = read.next();
        if (read.end()) {
          return rows;
        }
      }
    }
  }

  /** count, sum, min, max of values; the row form is key, start, end, n, total, low, high, mean. */
  private static final class Acc {
    long n;
    long sum;
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;

    void add(long v) {
      n++;
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }

    void addAll(Acc o) {
      n += o.n;
      sum += o.sum;
      min = Math.min(min, o.min);
      max = Math.max(max, o.max);
    }

    Row row(Object key, long start, long end) {
      return Row.of(key, start, end, n, sum, min, max, (double) sum / n);
    }
  }

  private static List<Row> windows(List<Row> in, long size, long slide, long lateness) {
    TreeMap<Long, TreeMap<String, Acc>> w = new TreeMap<>();
    long max = Long.MIN_VALUE;
    for (Row r : in) {
      long ts = (Long) r.get(2);
      max = Math.max(max, ts);
      long watermark = max - lateness;
      for (long start = Math.floorDiv(ts, slide) * slide; start > ts - size; start -= slide) {
        if (start + size > watermark) {
          w.computeIfAbsent(start, s -> new TreeMap<>()).computeIfAbsent((String) r.get(0), k -> new Acc()).add((Long) r.get(1));
        }
      }
    }
    List<Row> out = new ArrayList<>();
    w.forEach((start, keys) -> keys.forEach((k, a) -> out.add(a.row(k, start, start + size))));
    return out;
  }

  private record Session(String key, long start, long end, Acc acc) {}

  private static List<Row> sessions(List<Row> in, long gap, long lateness) {
    Map<String, List<Session>> open = new HashMap<>();
    List<Session> closed = new ArrayList<>();
    long max = Long.MIN_VALUE;
    for (Row r : in) {
      long ts = (Long) r.get(2);
      String key = (String) r.get(0);
      max = Math.max(max, ts);
      long watermark = max - lateness;
      if (ts + gap > watermark) {
        Acc acc = new Acc();
        acc.add((Long) r.get(1));
        long start = ts;
        long end = ts + gap;
        List<Session> mine = open.computeIfAbsent(key, k -> new ArrayList<>());
        for (Session s : new ArrayList<>(mine)) {
          if (s.start() < end && start < s.end() && s.end() > watermark) {
            start = Math.min(start, s.start());
            end = Math.max(end, s.end());
            acc.addAll(s.acc());
            mine.remove(s);
          }
        }
        mine.add(new Session(key, start, end, acc));
      }
      for (List<Session> ss : open.values()) {
        for (Session s : new ArrayList<>(ss)) {
          if (s.end() <= watermark) {
            closed.add(s);
            ss.remove(s);
          }
        }
      }
    }
    open.values().forEach(closed::addAll);
    closed.sort(Comparator.comparingLong(Session::end).thenComparing(Session::key));
    return closed.stream().map(s -> s.acc().row(s.key(), s.start(), s.end())).toList();
  }

  private static List<Row> join(List<Row> left, List<Row> right, long size, long lateness) {
    TreeMap<Long, TreeMap<String, List<List<Row>>>> w = new TreeMap<>();
    List<List<Row>> sides = List.of(left, right);
    for (int side = 0; side < 2; side++) {
      long max = Long.MIN_VALUE;
      for (Row r : sides.get(side)) {
        long ts = (Long) r.get(2);
        max = Math.max(max, ts);
        long start = Math.floorDiv(ts, size) * size;
        if (start + size > max - lateness) {
          w.computeIfAbsent(start, s -> new TreeMap<>())
              .computeIfAbsent((String) r.get(0), k -> List.of(new ArrayList<>(), new ArrayList<>()))
              .get(side)
              .add(r);
        }
      }
    }
    List<Row> out = new ArrayList<>();
    w.forEach((start, keys) -> keys.forEach((k, ss) -> {
      for (Row l : ss.get(0)) {
        for (Row r : ss.get(1)) {
          Object[] v = new Object[2 + l.size() + r.size()];
          v[0] = start;
          v[1] = start + size;
          for (int i = 0; i < l.size(); i++) {
            v[2 + i] = l.get(i);
          }
          for (int i = 0; i < r.size(); i++) {
            v[2 + l.size() + i] = r.get(i);
          }
          out.add(Row.wrap(v));
        }
      }
    }));
    return out;
  }

  /** Rows as a sorted multiset, for sinks whose order depends on how inputs interleave. */
  static List<String> multiset(List<Row> rows) {
    return rows.stream().map(Row::toString).sorted().toList();
  }

  static boolean unordered(RandomSpecs.Spec spec) {
    return spec.shape() == RandomSpecs.Shape.UNION;
  }
}
