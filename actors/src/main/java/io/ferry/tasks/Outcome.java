package io.ferry.tasks;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.ferry.persistence.CborSerializable;

/** What one attempt of a task ended with, as its worker reports it. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({@JsonSubTypes.Type(value = Outcome.Succeeded.class, name = "succeeded"), @JsonSubTypes.Type(value = Outcome.Failed.class, name = "failed")})
public sealed interface Outcome extends CborSerializable {
  /** Text kept with a task's outcome (output tail, failure reason). */
  int TEXT_MAX = 4096;

  /** @param output what the attempt printed or reported, cut to {@link #TEXT_MAX} characters */
  record Succeeded(String output) implements Outcome {
    public Succeeded {
      output = cut(output);
    }
  }

  record Failed(String reason) implements Outcome {
    public Failed {
      if (reason == null || reason.isBlank()) {
        throw new IllegalArgumentException("a failed attempt needs a reason");
      }
      reason = cut(reason);
    }
  }

  private static String cut(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= TEXT_MAX ? s : s.substring(s.length() - TEXT_MAX);
  }
}
