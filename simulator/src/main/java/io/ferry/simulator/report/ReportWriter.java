package io.ferry.simulator.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.simulator.report.RunReport.Event;
import io.ferry.simulator.report.RunReport.SinkFigures;
import io.ferry.simulator.report.RunReport.Verdict;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a run's {@link RunReport} as JSON and as one self-contained HTML page (inline CSS and
 * SVG, no script, nothing fetched when viewed), and an index over the runs of {@code --runs K}.
 * Called by the simulator at the end of a run.
 */
public final class ReportWriter {

  /** Rows in the page's event table; the JSON keeps every event. */
  static final int EVENT_ROWS_MAX = 2_000;

  /** Map keys sorted, so that two runs with the same seed write byte-identical JSON. */
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  private ReportWriter() {}

  /** The two files written for one run, or for a summary (summary.json and index.html). */
  public record Written(Path json, Path html) {}

  /** One run's line in summary.json; {@code json} and {@code html} are file names beside it. */
  public record RunEntry(
      String scenario, String tier, long seed, boolean ok, List<String> failedCheckers, String replay,
      String json, String html) {}

  /** What summary.json holds. */
  public record Summary(int runs, int failed, List<RunEntry> entries) {}

  /** Writes {@code report-<scenario>-<seed>.json} and {@code .html} into {@code dir}, creating it if needed. */
  public static Written write(RunReport report, Path dir) throws IOException {
    Files.createDirectories(dir);
    String base = baseName(report);
    Path json = dir.resolve(base + ".json");
    Path html = dir.resolve(base + ".html");
    JSON.writeValue(json.toFile(), report);
    Files.writeString(html, page(report, json.getFileName().toString()), StandardCharsets.UTF_8);
    return new Written(json, html);
  }

  /**
   * Writes every run's files (so that no link in the index dangles) and then {@code summary.json}
   * and {@code index.html}, failed runs first.
   */
  public static Written summary(List<RunReport> reports, Path dir) throws IOException {
    Map<String, RunReport> byName = new HashMap<>();
    for (RunReport report : reports) {
      RunReport other = byName.put(baseName(report), report);
      if (other != null) {
        throw new IllegalArgumentException(
            "two runs share scenario=" + report.scenario() + " seed=" + report.seed()
                + ": their pages would overwrite each other");
      }
    }
    List<RunEntry> entries = new ArrayList<>();
    for (RunReport report : reports) {
      Written written = write(report, dir);
      entries.add(new RunEntry(report.scenario(), report.tier(), report.seed(), passed(report),
          checkers(report).stream().filter(v -> !v.ok()).map(Verdict::checker).toList(), report.replay(),
          written.json().getFileName().toString(), written.html().getFileName().toString()));
    }
    entries.sort(Comparator.comparing(RunEntry::ok).thenComparing(RunEntry::scenario,
        Comparator.nullsFirst(Comparator.naturalOrder())).thenComparingLong(RunEntry::seed));
    int failed = (int) entries.stream().filter(e -> !e.ok()).count();
    Summary summary = new Summary(entries.size(), failed, entries);
    Path json = dir.resolve("summary.json");
    Path html = dir.resolve("index.html");
    JSON.writeValue(json.toFile(), summary);
    Files.writeString(html, index(summary), StandardCharsets.UTF_8);
    return new Written(json, html);
  }

  /** Reads a report back from the JSON {@link #write} made, to render it again or compare runs. */
  public static RunReport read(Path json) throws IOException {
    return JSON.readValue(json.toFile(), RunReport.class);
  }

  /** {@code report-<scenario>-<seed>}, the scenario cut down to characters safe in a file name and a link. */
  static String baseName(RunReport report) {
    String scenario = report.scenario() == null ? "" : report.scenario();
    String safe = scenario.replaceAll("[^A-Za-z0-9._-]", "_");
    return "report-" + (safe.isEmpty() ? "run" : safe) + "-" + report.seed();
  }

  static String page(RunReport report, String jsonName) {
    boolean ok = passed(report);
    List<Verdict> checkers = checkers(report);
    List<SinkFigures> sinks = list(report.sinks());
    List<Event> faults = list(report.faults());
    List<Event> operations = list(report.operations());
    List<Long> pauses = list(report.migrationPausesMillis());
    long failedCheckers = checkers.stream().filter(v -> !v.ok()).count();
    long lost = sinks.stream().mapToLong(SinkFigures::lost).sum();
    long duplicated = sinks.stream().mapToLong(SinkFigures::duplicated).sum();

    StringBuilder out = new StringBuilder(32_768);
    head(out, (ok ? "PASS " : "FAIL ") + report.scenario() + " seed " + report.seed() + " \u2014 Ferry run report");
    out.append("<header class=\"").append(ok ? "pass" : "fail").append("\">\n")
        .append("<div class=\"verdict\">").append(ok ? "PASS" : "FAIL").append("</div>\n")
        .append("<div><h1>").append(e(report.scenario())).append("</h1>\n")
        .append("<p class=\"meta\">tier <b>").append(e(report.tier()))
        .append("</b> \u00b7 seed <b class=\"seed\">").append(report.seed())
        .append("</b> \u00b7 duration <b>").append(e(Plots.seconds(report.durationMillis())))
        .append("</b> \u00b7 trace hash <code>").append(e(orDash(report.traceHash()))).append("</code></p></div>\n")
        .append("</header>\n");

    out.append("<section><h2>Replay</h2>\n<pre class=\"replay\"><code>").append(e(orDash(report.replay())))
        .append("</code></pre>\n<p class=\"note\">One click selects the whole command.</p></section>\n");

    out.append("<section class=\"tiles\">\n");
    tile(out, "checkers failed", failedCheckers + " of " + checkers.size(), failedCheckers > 0);
    tile(out, "rows lost", Html.count(lost), lost > 0);
    tile(out, "rows duplicated", Html.count(duplicated), duplicated > 0);
    tile(out, "double owners", Html.count(report.doubleOwners()), report.doubleOwners() > 0);
    tile(out, "faults injected", Html.count(faults.size()), false);
    tile(out, "migrations", Html.count(pauses.size()), false);
    out.append("</section>\n");

    out.append("<section><h2>Checkers</h2>\n");
    if (checkers.isEmpty()) {
      out.append("<p class=\"empty\">no checkers ran in this run</p>\n");
    } else {
      out.append("<table><thead><tr><th>checker</th><th>verdict</th><th>detail</th></tr></thead><tbody>\n");
      for (Verdict v : checkers) {
        out.append("<tr class=\"").append(v.ok() ? "ok" : "bad").append("\"><td>").append(e(v.checker()))
            .append("</td><td class=\"v\">").append(v.ok() ? "pass" : "FAIL").append("</td><td>")
            .append(e(v.detail())).append("</td></tr>\n");
      }
      out.append("</tbody></table>\n");
    }
    out.append("</section>\n");

    out.append("<section><h2>Sinks</h2>\n");
    if (sinks.isEmpty()) {
      out.append("<p class=\"empty\">no sinks in this run</p>\n");
    } else {
      out.append("<table><thead><tr><th>sink</th><th class=\"n\">reference</th><th class=\"n\">actual</th>")
          .append("<th class=\"n\">lost</th><th class=\"n\">duplicated</th><th class=\"n\">unexpected</th>")
          .append("</tr></thead><tbody>\n");
      for (SinkFigures s : sinks) {
        out.append("<tr><td>").append(e(s.sink())).append("</td>");
        number(out, s.reference(), false);
        number(out, s.actual(), false);
        number(out, s.lost(), s.lost() > 0);
        number(out, s.duplicated(), s.duplicated() > 0);
        number(out, s.unexpected(), s.unexpected() > 0);
        out.append("</tr>\n");
      }
      out.append("</tbody></table>\n");
    }
    out.append("</section>\n");

    out.append("<section><h2>Throughput</h2>\n")
        .append(Plots.throughput(list(report.throughput()), report.durationMillis()))
        .append("</section>\n");

    out.append("<section><h2>Migration pauses</h2>\n");
    if (!pauses.isEmpty()) {
      List<Long> sorted = new ArrayList<>(pauses);
      sorted.sort(null);
      out.append("<p class=\"meta\">").append(pauses.size()).append(pauses.size() == 1 ? " move" : " moves")
          .append(" \u00b7 median ").append(Html.count(sorted.get((sorted.size() - 1) / 2)))
          .append(" ms \u00b7 max ").append(Html.count(sorted.get(sorted.size() - 1))).append(" ms</p>\n");
    }
    out.append(Plots.migrationPauses(pauses)).append("</section>\n");

    out.append("<section><h2>Faults</h2>\n");
    Map<String, Double> probabilities = new TreeMap<>(map(report.faultProbabilities()));
    if (probabilities.isEmpty()) {
      out.append("<p class=\"empty\">no fault probabilities set for this run</p>\n");
    } else {
      out.append("<table class=\"narrow\"><thead><tr><th>fault</th><th class=\"n\">probability</th></tr></thead><tbody>\n");
      probabilities.forEach((kind, p) -> out.append("<tr><td>").append(e(kind)).append("</td><td class=\"n\">")
          .append(e(probability(p))).append("</td></tr>\n"));
      out.append("</tbody></table>\n");
    }
    out.append(Plots.faultTimeline(faults, report.durationMillis())).append("</section>\n");

    out.append("<section><h2>Bytes per link</h2>\n").append(Plots.bytesPerLink(map(report.bytesPerLink())))
        .append("</section>\n");

    events(out, faults, operations);

    out.append("<footer>Written by Ferry's simulator. All figures are also in <code>").append(e(jsonName))
        .append("</code>.</footer>\n</main>\n</body>\n</html>\n");
    return out.toString();
  }

  static String index(Summary summary) {
    StringBuilder out = new StringBuilder(8_192);
    boolean ok = summary.failed() == 0;
    head(out, (ok ? "PASS " : "FAIL ") + summary.runs() + " runs \u2014 Ferry simulation summary");
    out.append("<header class=\"").append(ok ? "pass" : "fail").append("\">\n")
        .append("<div class=\"verdict\">").append(ok ? "PASS" : "FAIL").append("</div>\n")
        .append("<div><h1>").append(summary.runs()).append(summary.runs() == 1 ? " run" : " runs").append("</h1>\n")
        .append("<p class=\"meta\"><b>").append(summary.failed()).append("</b> failed</p></div>\n</header>\n");
    out.append("<section>\n");
    if (summary.entries().isEmpty()) {
      out.append("<p class=\"empty\">no runs</p>\n");
    } else {
      out.append("<table><thead><tr><th>verdict</th><th>scenario</th><th>tier</th><th class=\"n\">seed</th>")
          .append("<th>failed checkers</th><th>report</th></tr></thead><tbody>\n");
      for (RunEntry entry : summary.entries()) {
        out.append("<tr class=\"").append(entry.ok() ? "ok" : "bad").append("\"><td class=\"v\">")
            .append(entry.ok() ? "pass" : "FAIL").append("</td><td>").append(e(entry.scenario()))
            .append("</td><td>").append(e(entry.tier())).append("</td><td class=\"n\">").append(entry.seed())
            .append("</td><td>").append(e(String.join(", ", entry.failedCheckers())))
            .append("</td><td><a href=\"").append(e(entry.html())).append("\">page</a> \u00b7 <a href=\"")
            .append(e(entry.json())).append("\">json</a></td></tr>\n");
      }
      out.append("</tbody></table>\n");
    }
    out.append("</section>\n<footer>Written by Ferry's simulator. All figures are also in <code>summary.json</code>.</footer>\n")
        .append("</main>\n</body>\n</html>\n");
    return out.toString();
  }

  private static void events(StringBuilder out, List<Event> faults, List<Event> operations) {
    List<Event[]> rows = new ArrayList<>(faults.size() + operations.size());
    faults.forEach(f -> rows.add(new Event[] {f, null}));
    operations.forEach(o -> rows.add(new Event[] {null, o}));
    if (rows.isEmpty()) {
      out.append("<section><h2>Events</h2><p class=\"empty\">no faults or operations in this run</p></section>\n");
      return;
    }
    rows.sort(Comparator.comparingLong(r -> r[0] != null ? r[0].atMillis() : r[1].atMillis()));
    out.append("<section><h2>Events</h2>\n<details><summary>")
        .append(faults.size()).append(" faults and ").append(operations.size())
        .append(" operations, in time order</summary>\n")
        .append("<table><thead><tr><th class=\"n\">time</th><th>what</th><th>kind</th><th>detail</th></tr></thead><tbody>\n");
    for (Event[] row : rows.subList(0, Math.min(rows.size(), EVENT_ROWS_MAX))) {
      Event event = row[0] != null ? row[0] : row[1];
      out.append("<tr><td class=\"n\">").append(e(Plots.seconds(event.atMillis()))).append("</td><td>")
          .append(row[0] != null ? "fault" : "operation").append("</td><td>").append(e(event.kind()))
          .append("</td><td>").append(e(event.detail())).append("</td></tr>\n");
    }
    out.append("</tbody></table>\n");
    if (rows.size() > EVENT_ROWS_MAX) {
      out.append("<p class=\"note\">first ").append(EVENT_ROWS_MAX).append(" of ").append(rows.size())
          .append(" events shown; all are in the JSON</p>\n");
    }
    out.append("</details></section>\n");
  }

  private static void head(StringBuilder out, String title) {
    out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        // Nothing may be fetched when the page is viewed: reports are archived and read offline.
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>").append(e(title)).append("</title>\n<style>\n").append(CSS).append("</style>\n")
        .append("</head>\n<body>\n<main>\n");
  }

  private static void tile(StringBuilder out, String label, String value, boolean bad) {
    out.append("<div class=\"tile").append(bad ? " bad" : "").append("\"><div class=\"tv\">").append(e(value))
        .append("</div><div class=\"tl\">").append(e(label)).append("</div></div>\n");
  }

  private static void number(StringBuilder out, long value, boolean bad) {
    out.append("<td class=\"n").append(bad ? " badn" : "").append("\">").append(Html.count(value)).append("</td>");
  }

  /** As written in the scenario, not rounded: 0.005, not 0.005000 or 5.000e-03. */
  private static String probability(Double p) {
    if (p == null || p.isNaN() || p.isInfinite()) {
      return String.valueOf(p);
    }
    return BigDecimal.valueOf(p).stripTrailingZeros().toPlainString();
  }

  private static boolean passed(RunReport report) {
    return checkers(report).stream().allMatch(Verdict::ok);
  }

  private static List<Verdict> checkers(RunReport report) {
    return list(report.checkers());
  }

  private static String e(String text) {
    return Html.escape(text);
  }

  private static String orDash(String text) {
    return text == null || text.isEmpty() ? "\u2014" : text;
  }

  // Reports read back from older or hand-written JSON may lack a field; render it as empty.
  private static <T> List<T> list(List<T> list) {
    return list == null ? List.of() : list;
  }

  private static <K, V> Map<K, V> map(Map<K, V> map) {
    return map == null ? Map.of() : map;
  }

  private static final String CSS = """
      :root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --pass: #1a7f37; --fail: #cf222e; }
      * { box-sizing: border-box; }
      body { margin: 0; background: #f6f8fa; color: var(--ink);
             font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
      main { max-width: 1080px; margin: 0 auto; padding: 20px 24px 40px; }
      header { display: flex; align-items: center; gap: 24px; padding: 18px 24px; border-radius: 10px;
               background: #fff; border: 1px solid var(--line); border-left: 12px solid; }
      header.pass { border-left-color: var(--pass); }
      header.fail { border-left-color: var(--fail); }
      .verdict { font-size: 56px; font-weight: 800; letter-spacing: 2px; line-height: 1; }
      .pass .verdict { color: var(--pass); }
      .fail .verdict { color: var(--fail); }
      h1 { margin: 0 0 4px; font-size: 26px; word-break: break-all; }
      h2 { margin: 0 0 10px; font-size: 18px; }
      .meta { margin: 0 0 8px; color: var(--muted); }
      .meta b { color: var(--ink); }
      section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px;
                margin-top: 16px; }
      code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
      pre.replay { margin: 0; padding: 12px 14px; background: #0d1117; color: #e6edf3; border-radius: 6px;
                   white-space: pre-wrap; word-break: break-all; }
      pre.replay code { user-select: all; }
      .tiles { display: flex; flex-wrap: wrap; gap: 12px; background: none; border: none; padding: 0; }
      .tile { flex: 1 1 150px; background: #fff; border: 1px solid var(--line); border-radius: 10px;
              padding: 10px 14px; }
      .tile .tv { font-size: 24px; font-weight: 700; }
      .tile .tl { color: var(--muted); font-size: 13px; }
      .tile.bad { border-color: var(--fail); }
      .tile.bad .tv { color: var(--fail); }
      table { border-collapse: collapse; width: 100%; }
      table.narrow { width: auto; min-width: 320px; margin-bottom: 12px; }
      th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
      th { color: var(--muted); font-weight: 600; font-size: 13px; }
      td { word-break: break-word; }
      .n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      tr.ok .v { color: var(--pass); font-weight: 600; }
      tr.bad .v { color: var(--fail); font-weight: 800; }
      tr.bad { background: #fff5f5; }
      .badn { color: var(--fail); font-weight: 700; }
      svg.plot { display: block; width: 100%; height: auto; font-family: inherit; }
      .empty { color: var(--muted); font-style: italic; margin: 4px 0; }
      .note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
      details summary { cursor: pointer; color: var(--muted); }
      a { color: #0969da; }
      footer { margin-top: 20px; color: var(--muted); font-size: 13px; }
      """;
}
