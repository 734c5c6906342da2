package io.ferry.query.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.query.KeyGroups;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Instances of a keyed window together emit what one window emits, and their state regroups by key group. */
class KeyedWindowTest {
  static final OperatorSpec.Window WINDOW = new OperatorSpec.Window("key", "ts", 100, 30,
      List.of(new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.COUNT, null, "n"),
          new OperatorSpec.Aggregate(OperatorSpec.AggregateFn.SUM, "value", "total")));
  static final OperatorSpec.Generate GEN = new OperatorSpec.Generate(7, 40, 3000, 0, 3, 80, 0);

  static List<Row> input() {
    return new GeneratorReader(GEN).read(0, 3000).rows();
  }

  static List<Row> run(Operator op, List<Row> rows, int batch) {
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < rows.size(); i += batch) {
      Operator.Step s = op.process(rows.subList(i, Math.min(rows.size(), i + batch)));
      op.apply(s.delta());
      out.addAll(s.outputs());
    }
    Operator.Step f = op.finish();
    op.apply(f.delta());
    out.addAll(f.outputs());
    return out;
  }

  static List<String> sorted(List<Row> rows) {
    return rows.stream().map(Row::toString).sorted(Comparator.naturalOrder()).toList();
  }

  static WindowOperator instance(int i, int p) {
    KeyGroups.Range r = KeyGroups.range(i, p);
    return new WindowOperator(new OperatorSpec.Keyed(WINDOW, r.first(), r.end()), OperatorSpec.Generate.SCHEMA);
  }

  @Test
  void instancesTogetherEmitExactlyWhatOneWindowEmits() {
    List<Row> rows = input();
    List<Row> one = run(new WindowOperator(WINDOW, OperatorSpec.Generate.SCHEMA), rows, 3000);
    assertTrue(one.size() > 100, "too few windows to compare: " + one.size());
    List<Row> all = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      List<Row> mine = run(instance(i, 3), rows, 17 + i * 50);
      int instance = i;
      mine.forEach(r -> assertEquals(instance, KeyGroups.owner(KeyGroups.groupOf(r.get(0)), 3), "instance " + instance + " emitted " + r));
      all.addAll(mine);
    }
    assertEquals(sorted(one), sorted(all));
    WindowOperator idle = new WindowOperator(new OperatorSpec.Keyed(WINDOW, 0, 0), OperatorSpec.Generate.SCHEMA);
    assertEquals(List.of(), run(idle, rows, 100));
  }

  @Test
  void stateRegroupedAtACutGivesTheSameOutputAsNoRescale() {
    List<Row> rows = input();
    List<Row> one = run(new WindowOperator(WINDOW, OperatorSpec.Generate.SCHEMA), rows, 3000);
    int cut = 1234;
    List<Row> out = new ArrayList<>();
    List<WindowOperator> before = new ArrayList<>();
    List<WindowState> states = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      WindowOperator w = instance(i, 2);
      Operator.Step s = w.process(rows.subList(0, cut));
      w.apply(s.delta());
      out.addAll(s.outputs());
      before.add(w);
      states.add(w.snapshot());
    }
    for (int i = 0; i < 3; i++) {
      WindowOperator w = instance(i, 3);
      w.restore(KeyedWindows.regroup(i < 2 ? states.get(i) : null, states, KeyGroups.range(i, 3)));
      out.addAll(run(w, rows.subList(cut, rows.size()), 100));
    }
    assertEquals(sorted(one), sorted(out));
  }

  @Test
  void aKeyHeldByTwoInstancesIsAnInconsistentCut() {
    WindowAcc a = new WindowAcc(0, "k1", 1, List.of(1L, 1L), List.of(1L, 5L), List.of(0.0, 0.0));
    WindowState s = new WindowState(10, 0, 0, List.of(a));
    assertThrows(IllegalStateException.class, () -> KeyedWindows.regroup(null, List.of(s, s), new KeyGroups.Range(0, KeyGroups.COUNT)));
    WindowState moved = KeyedWindows.regroup(null, List.of(s), KeyGroups.range(KeyGroups.owner(KeyGroups.group("k1"), 4), 4));
    assertEquals(List.of(a), moved.open());
    assertEquals(List.of(), KeyedWindows.regroup(null, List.of(s), KeyGroups.Range.NONE).open());
  }
}
