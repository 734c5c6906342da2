package io.ferry.query.ops;

import io.ferry.query.Row;
import java.util.List;

/** UNION ALL: passes each input batch on as it comes; stateless. */
public final class UnionOperator implements Operator {

  @Override
  public Step process(List<Row> input) {
    return new Step(List.copyOf(input), null);
  }
}
