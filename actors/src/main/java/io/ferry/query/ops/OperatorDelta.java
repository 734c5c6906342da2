package io.ferry.query.ops;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/** The state change of one processed batch; persisted inside the node's event. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "d")
@JsonSubTypes({
  @JsonSubTypes.Type(value = WindowDelta.class, name = "window"),
  @JsonSubTypes.Type(value = FileSinkDelta.class, name = "file-sink"),
  @JsonSubTypes.Type(value = SessionDelta.class, name = "session"),
  @JsonSubTypes.Type(value = JoinDelta.class, name = "join"),
  @JsonSubTypes.Type(value = SourcePosition.class, name = "source-position"),
  @JsonSubTypes.Type(value = SinkAnchors.class, name = "sink-anchors")
})
public sealed interface OperatorDelta permits WindowDelta, FileSinkDelta, SessionDelta, JoinDelta, SourcePosition, SinkAnchors {}
