package io.ferry.query.ops;

import io.ferry.query.Predicate;
import io.ferry.query.Row;
import io.ferry.query.Schema;
import java.util.ArrayList;
import java.util.List;

/** Keeps the rows that match a condition; stateless. */
public final class FilterOperator implements Operator {
  private final Predicates.Compiled condition;

  public FilterOperator(Predicate predicate, Schema input) {
    this.condition = Predicates.compile(predicate, input);
  }

  @Override
  public Step process(List<Row> input) {
    List<Row> out = new ArrayList<>(input.size());
    for (Row r : input) {
      if (condition.test(r)) {
        out.add(r);
      }
    }
    return new Step(out, null);
  }
}
