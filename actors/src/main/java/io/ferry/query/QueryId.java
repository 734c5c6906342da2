package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** Names a deployed query; part of every logic node's entity id. */
public record QueryId(String value) {
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public QueryId {
    Names.check("query id", value);
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public String toString() {
    return value;
  }
}
