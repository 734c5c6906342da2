package io.ferry.query.ops;

import io.ferry.query.Row;
import java.util.List;

/** The in-cluster sink: its input becomes its output log as is; stateless. */
public final class CollectOperator implements Operator {

  @Override
  public Step process(List<Row> input) {
    return new Step(List.copyOf(input), null);
  }
}
