package io.ferry.query.ops;

import io.ferry.query.OperatorSpec;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.List;

/** Filters rows by an expression and computes the output columns (SQL's WHERE and SELECT); stateless. */
public final class CalcOperator implements Operator {
  private final Exprs.Eval where;
  private final Exprs.Eval[] columns;

  public CalcOperator(OperatorSpec.Calc spec, Schema input) {
    this.where = spec.where() == null ? null : Exprs.compile(spec.where(), input);
    this.columns = spec.columns().stream().map(c -> Exprs.compile(c.expr(), input)).toArray(Exprs.Eval[]::new);
  }

  @Override
  public Step process(List<Row> input) {
    List<Row> out = new ArrayList<>(input.size());
    for (Row r : input) {
      if (where != null && !Boolean.TRUE.equals(where.eval(r))) {
        continue;
      }
      Object[] values = new Object[columns.length];
      for (int i = 0; i < columns.length; i++) {
        values[i] = columns[i].eval(r);
      }
      out.add(Row.wrap(values));
    }
    return new Step(out, null);
  }
}
