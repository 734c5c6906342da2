package io.ferry.simulator.report;

import java.util.List;
import java.util.Map;

/**
 * What one simulation run did and found: written as JSON and rendered as an HTML page by {@code
 * ReportWriter}. Both tiers (deterministic protocol simulation, real-stack chaos) produce one.
 *
 * @param tier "deterministic" or "real-stack"
 * @param replay the exact command that replays this run
 * @param faults every injected fault, by kind and time
 * @param operations what the workload did besides faults (deploys, migration instructions)
 * @param sinks once-only figures per sink
 * @param doubleOwners intervals in which two live instances of one logic node overlapped
 * @param migrationPausesMillis how long each move kept its nodes from taking input
 * @param bytesPerLink bytes carried per simulated link ("edge-a->cloud"), where known
 * @param throughput rows delivered to the sinks over time
 * @param checkers each checker's verdict
 */
public record RunReport(
    String scenario,
    String tier,
    long seed,
    String replay,
    long durationMillis,
    Map<String, Double> faultProbabilities,
    List<Event> faults,
    List<Event> operations,
    List<SinkFigures> sinks,
    long doubleOwners,
    List<Long> migrationPausesMillis,
    Map<String, Long> bytesPerLink,
    List<Point> throughput,
    List<Verdict> checkers,
    String traceHash) {

  /** Something that happened at {@code atMillis} since the run started. */
  public record Event(long atMillis, String kind, String detail) {}

  public record SinkFigures(String sink, long reference, long actual, long lost, long duplicated, long unexpected) {}

  /** Rows delivered to all sinks up to {@code atMillis}. */
  public record Point(long atMillis, long rows) {}

  public record Verdict(String checker, boolean ok, String detail) {}

  public boolean ok() {
    return checkers.stream().allMatch(Verdict::ok);
  }
}
