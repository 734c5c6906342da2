package io.ferry.query.ops;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/** An operator's state as stored in a node snapshot. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "s")
@JsonSubTypes({
  @JsonSubTypes.Type(value = WindowState.class, name = "window"),
  @JsonSubTypes.Type(value = FileSinkDelta.class, name = "file-sink"),
  @JsonSubTypes.Type(value = SessionState.class, name = "session"),
  @JsonSubTypes.Type(value = JoinState.class, name = "join"),
  @JsonSubTypes.Type(value = SourcePosition.class, name = "source-position"),
  @JsonSubTypes.Type(value = SinkAnchors.class, name = "sink-anchors")
})
public sealed interface OperatorState permits WindowState, FileSinkDelta, SessionState, JoinState, SourcePosition, SinkAnchors {}
