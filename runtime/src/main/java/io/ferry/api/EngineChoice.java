package io.ferry.api;

/**
 * The engine a query runs on and how it was chosen, recorded with the query: {@code explicit} (asked
 * for by name, or deployed through this API) or {@code auto} ({@code ferry run --engine auto} chose it),
 * with the reason. A cluster runs only the distributed engine; the local engine runs inside one
 * process and has no cluster status to record it in.
 */
public record EngineChoice(String name, String chosen, String reason) {
  public static final String DISTRIBUTED = "distributed";
  public static final String EXPLICIT = "explicit";
  public static final String AUTO = "auto";
  /** A reason is one line for people, not a document. */
  public static final int REASON_MAX = 500;

  public EngineChoice {
    if (!DISTRIBUTED.equals(name)) {
      throw new IllegalArgumentException("a cluster runs the " + DISTRIBUTED + " engine only, got '" + name + "'");
    }
    if (!EXPLICIT.equals(chosen) && !AUTO.equals(chosen)) {
      throw new IllegalArgumentException("an engine is chosen " + EXPLICIT + " or " + AUTO + ", got '" + chosen + "'");
    }
    reason = reason == null || reason.isBlank() ? (EXPLICIT.equals(chosen) ? "asked for" : "chosen automatically") : reason;
    if (reason.length() > REASON_MAX) {
      throw new IllegalArgumentException("an engine's reason has at most " + REASON_MAX + " characters, got " + reason.length());
    }
  }

  /** What a deployment that names no engine records: the cluster's engine, asked for by deploying to it. */
  public static EngineChoice deployed() {
    return new EngineChoice(DISTRIBUTED, EXPLICIT, "deployed to the cluster");
  }
}
