package io.ferry.query;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** Names one logic node inside a query. */
public record NodeId(String value) {
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public NodeId {
    Names.check("node id", value);
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
