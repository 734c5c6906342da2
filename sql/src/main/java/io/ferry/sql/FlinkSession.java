package io.ferry.sql;

import java.util.ArrayList;
import java.util.List;
import org.apache.calcite.sql.SqlBasicCall;
import org.apache.calcite.sql.SqlCall;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;
import org.apache.calcite.sql.fun.SqlStdOperatorTable;

/**
 * Flink writes a session window as {@code SESSION(TABLE t PARTITION BY key, DESCRIPTOR(ts), gap)};
 * Calcite's validator knows {@code SESSION(TABLE t, DESCRIPTOR(ts), DESCRIPTOR(key), gap)}. This
 * rewrites the first into the second before validation, so both spellings work.
 */
final class FlinkSession {
  private FlinkSession() {}

  static void rewrite(SqlNode n) {
    if (n instanceof SqlNodeList l) {
      l.forEach(FlinkSession::rewrite);
      return;
    }
    if (!(n instanceof SqlCall c)) {
      return;
    }
    List<SqlNode> ops = c.getOperandList();
    for (int i = 0; i < ops.size(); i++) {
      SqlNode o = ops.get(i);
      if (o instanceof SqlCall fn && c.getKind() == SqlKind.COLLECTION_TABLE && fn.getOperator().getName().equalsIgnoreCase("SESSION")
          && fn.operandCount() == 3 && fn.operand(0).getKind() == SqlKind.SET_SEMANTICS_TABLE) {
        SqlCall set = (SqlCall) fn.operand(0);
        SqlNodeList keys = (SqlNodeList) set.operand(1);
        if (keys.size() == 1) {
          List<SqlNode> args = new ArrayList<>();
          args.add(set.operand(0));
          args.add(fn.operand(1));
          args.add(SqlStdOperatorTable.DESCRIPTOR.createCall(keys.getParserPosition(), keys.get(0)));
          args.add(fn.operand(2));
          c.setOperand(i, new SqlBasicCall(fn.getOperator(), args, fn.getParserPosition()));
          continue;
        }
      }
      if (o != null) {
        rewrite(o);
      }
    }
  }
}
