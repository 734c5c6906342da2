package io.ferry.simulator.check;

import io.ferry.simulator.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Every acknowledged task ends: succeeded, failed with a reason, or cancelled. */
public final class TaskEndCheck {
  public static final String NAME = "every-task-ends";
  private static final int EXAMPLES_MAX = 5;

  /** A task's final state ("SUCCEEDED", "FAILED", "CANCELLED", or a state that has not ended) and reason. */
  public record End(String state, Optional<String> reason) {}

  private TaskEndCheck() {}

  public static RunReport.Verdict check(Map<String, End> ends) {
    List<String> bad = new ArrayList<>();
    long succeeded = 0;
    long failed = 0;
    long cancelled = 0;
    for (var e : ends.entrySet()) {
      End end = e.getValue();
      switch (end.state()) {
        case "SUCCEEDED" -> succeeded++;
        case "CANCELLED" -> cancelled++;
        case "FAILED" -> {
          failed++;
          if (end.reason().map(String::isBlank).orElse(true)) {
            bad.add(e.getKey() + " failed without a reason");
          }
        }
        default -> bad.add(e.getKey() + " has not ended: " + end.state());
      }
    }
    String detail = bad.isEmpty()
        ? ends.size() + " tasks ended: " + succeeded + " succeeded, " + failed + " failed with a reason, " + cancelled + " cancelled"
        : bad.size() + " of " + ends.size() + " tasks did not end properly, e.g. " + bad.subList(0, Math.min(EXAMPLES_MAX, bad.size()));
    return new RunReport.Verdict(NAME, bad.isEmpty(), detail);
  }
}
