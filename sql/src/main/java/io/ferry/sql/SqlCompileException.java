package io.ferry.sql;

import io.ferry.query.QueryException;

/**
 * SQL that does not compile: where (line and column, 1-based) and what is wrong, as one line a user
 * can act on. The compiler throws nothing else.
 */
public final class SqlCompileException extends QueryException {
  private final int line;
  private final int column;

  public SqlCompileException(int line, int column, String problem) {
    super("line " + line + ", column " + column + ": " + problem);
    this.line = line;
    this.column = column;
  }

  public int line() {
    return line;
  }

  public int column() {
    return column;
  }
}
