package io.ferry.query;

/** A query that cannot run as given: the message says which node and why. Nothing was started. */
public class QueryException extends IllegalArgumentException {
  public QueryException(String message) {
    super(message);
  }
}
