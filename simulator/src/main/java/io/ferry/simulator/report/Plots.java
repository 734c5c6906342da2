package io.ferry.simulator.report;

import io.ferry.simulator.report.RunReport.Event;
import io.ferry.simulator.report.RunReport.Point;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.DoubleFunction;

/**
 * The report page's plots, each an inline SVG drawn with {@link Svg}, or a short "no ..." note
 * when the run has nothing to draw. Called by {@link ReportWriter}.
 */
final class Plots {

  /** Points drawn on the throughput line; longer series are thinned to this many (first and last kept). */
  static final int THROUGHPUT_POINTS_MAX = 2_000;
  /** Bars in the migration pause plot; the rest are counted in a note under it. */
  static final int PAUSE_BARS_MAX = 400;
  /** Marks on the fault timeline; a run with more faults says how many were left off. */
  static final int FAULT_MARKS_MAX = 5_000;
  /** Links in the bytes-per-link plot. */
  static final int LINKS_MAX = 40;
  /** Characters of a lane or link label; longer ones are cut with an ellipsis. */
  static final int LABEL_CHARS_MAX = 24;

  /** Shortest time axis: a run under a second is drawn on a one-second axis, with distinct tick labels. */
  static final long AXIS_MILLIS_MIN = 1_000;

  /** Okabe–Ito colours: told apart by colour-blind readers too. Kinds past the eighth reuse them. */
  private static final String[] PALETTE = {
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C6D1F"
  };

  private static final int WIDTH = 1000;
  private static final String AXIS = "#57606a";
  private static final String GRID = "#e4e7eb";
  private static final String INK = "#1f2328";

  private Plots() {}

  static String throughput(List<Point> series, long durationMillis) {
    if (series.isEmpty()) {
      return empty("no throughput samples in this run");
    }
    List<Point> points = new ArrayList<>(series);
    points.sort(Comparator.comparingLong(Point::atMillis));
    points = thin(points, THROUGHPUT_POINTS_MAX);
    long endMillis = Math.max(AXIS_MILLIS_MIN, Math.max(durationMillis, points.get(points.size() - 1).atMillis()));
    long rowsMax = points.stream().mapToLong(Point::rows).max().orElse(0);

    Frame frame = new Frame(80, 20, WIDTH - 80 - 30, 260);
    Svg svg = new Svg(WIDTH, 330, "rows delivered to the sinks over time");
    double[] yTicks = frame.yAxis(svg, rowsMax, Html::compact);
    frame.timeAxis(svg, endMillis);
    svg.verticalText(18, frame.top + frame.height / 2.0, AXIS, 13, "rows delivered");

    double[] xs = new double[points.size()];
    double[] ys = new double[points.size()];
    for (int i = 0; i < points.size(); i++) {
      xs[i] = frame.x(points.get(i).atMillis(), endMillis);
      ys[i] = frame.y(points.get(i).rows(), yTicks[yTicks.length - 1]);
    }
    svg.polyline(xs, ys, PALETTE[0], 2.5);
    Point last = points.get(points.size() - 1);
    svg.circle(xs[xs.length - 1], ys[ys.length - 1], 4, PALETTE[0],
        Html.count(last.rows()) + " rows at " + seconds(last.atMillis()));
    return svg.end();
  }

  static String migrationPauses(List<Long> pausesMillis) {
    if (pausesMillis.isEmpty()) {
      return empty("no migrations in this run");
    }
    List<Long> shown = pausesMillis.subList(0, Math.min(pausesMillis.size(), PAUSE_BARS_MAX));
    long max = shown.stream().mapToLong(Long::longValue).max().orElse(0);

    Frame frame = new Frame(80, 20, WIDTH - 80 - 30, 220);
    Svg svg = new Svg(WIDTH, 290, "how long each migration paused its nodes");
    double[] yTicks = frame.yAxis(svg, max, v -> Html.compact(v) + " ms");
    double top = yTicks[yTicks.length - 1];
    double slot = frame.width / (double) shown.size();
    double barWidth = Math.max(1, slot * 0.7);
    int labelEvery = Math.max(1, (int) Math.ceil(shown.size() / 25.0));
    for (int i = 0; i < shown.size(); i++) {
      long pause = shown.get(i);
      double x = frame.left + i * slot + (slot - barWidth) / 2;
      double y = frame.y(pause, top);
      svg.rect(x, y, barWidth, frame.bottom() - y, PALETTE[4],
          "move " + (i + 1) + ": " + Html.count(pause) + " ms");
      if (i % labelEvery == 0) {
        svg.text(frame.left + i * slot + slot / 2, frame.bottom() + 18, "middle", AXIS, 12,
            String.valueOf(i + 1));
      }
    }
    svg.text(frame.left + frame.width / 2.0, frame.bottom() + 40, "middle", AXIS, 13, "move");
    svg.verticalText(18, frame.top + frame.height / 2.0, AXIS, 13, "pause");
    String note = pausesMillis.size() > shown.size()
        ? note("first " + shown.size() + " of " + pausesMillis.size() + " moves shown")
        : "";
    return svg.end() + note;
  }

  static String faultTimeline(List<Event> faults, long durationMillis) {
    if (faults.isEmpty()) {
      return empty("no faults injected in this run");
    }
    Map<String, String> colours = kindColours(faults);
    Map<String, Integer> counts = new TreeMap<>();
    faults.forEach(f -> counts.merge(kind(f), 1, Integer::sum));
    List<String> kinds = new ArrayList<>(colours.keySet());
    long endMillis = Math.max(AXIS_MILLIS_MIN, Math.max(durationMillis,
        faults.stream().mapToLong(Event::atMillis).max().orElse(0)));

    int laneHeight = 26;
    int left = 190;
    Frame frame = new Frame(left, 14, WIDTH - left - 30, kinds.size() * laneHeight);
    List<String> legend = new ArrayList<>();
    kinds.forEach(k -> legend.add(k + " (" + counts.get(k) + ")"));
    int legendRows = legendRows(legend);
    Svg svg = new Svg(WIDTH, frame.bottom() + 66 + legendRows * 22, "faults injected over time, one lane per kind");

    for (int lane = 0; lane < kinds.size(); lane++) {
      String kind = kinds.get(lane);
      double y = frame.top + lane * laneHeight + laneHeight / 2.0;
      svg.line(frame.left, y, frame.left + frame.width, y, GRID, 1);
      svg.text(frame.left - 10, y + 4, "end", colours.get(kind), 13, label(kind));
    }
    frame.timeAxis(svg, endMillis);

    List<Event> shown = faults.subList(0, Math.min(faults.size(), FAULT_MARKS_MAX));
    for (Event fault : shown) {
      String kind = kind(fault);
      double x = frame.x(fault.atMillis(), endMillis);
      double y = frame.top + kinds.indexOf(kind) * laneHeight + laneHeight / 2.0;
      String tip = seconds(fault.atMillis()) + " " + kind
          + (fault.detail() == null || fault.detail().isEmpty() ? "" : ": " + fault.detail());
      svg.circle(x, y, 6, colours.get(kind), tip);
    }

    double legendX = 10;
    double legendY = frame.bottom() + 70;
    for (int i = 0; i < kinds.size(); i++) {
      String text = label(legend.get(i));
      double width = 28 + text.length() * 7.5;
      if (legendX + width > WIDTH && legendX > 10) {
        legendX = 10;
        legendY += 22;
      }
      svg.rect(legendX, legendY - 11, 14, 14, colours.get(kinds.get(i)), null);
      svg.text(legendX + 20, legendY, "start", INK, 13, text);
      legendX += width;
    }
    String note = faults.size() > shown.size()
        ? note("first " + shown.size() + " of " + faults.size() + " faults marked")
        : "";
    return svg.end() + note;
  }

  static String bytesPerLink(Map<String, Long> bytesPerLink) {
    if (bytesPerLink.isEmpty()) {
      return empty("no per-link byte counts in this run");
    }
    List<Map.Entry<String, Long>> links = new ArrayList<>(new TreeMap<>(bytesPerLink).entrySet());
    List<Map.Entry<String, Long>> shown = links.subList(0, Math.min(links.size(), LINKS_MAX));
    long max = Math.max(1, shown.stream().mapToLong(e -> value(e.getValue())).max().orElse(1));

    int left = 210;
    int barHeight = 18;
    int gap = 8;
    Frame frame = new Frame(left, 10, WIDTH - left - 110, shown.size() * (barHeight + gap));
    Svg svg = new Svg(WIDTH, frame.bottom() + 10, "bytes carried per link");
    for (int i = 0; i < shown.size(); i++) {
      String link = shown.get(i).getKey();
      long bytes = value(shown.get(i).getValue());
      double y = frame.top + i * (barHeight + gap);
      double width = Math.max(1, frame.width * (double) bytes / max);
      svg.text(frame.left - 10, y + 14, "end", INK, 13, label(link));
      svg.rect(frame.left, y, width, barHeight, PALETTE[5], link + ": " + Html.count(bytes) + " bytes");
      svg.text(frame.left + width + 8, y + 14, "start", AXIS, 13, Html.bytes(bytes));
    }
    String note = links.size() > shown.size()
        ? note("first " + shown.size() + " of " + links.size() + " links shown (all are in the JSON)")
        : "";
    return svg.end() + note;
  }

  /** One colour per fault kind, kinds in name order, so a kind keeps its colour between runs with the same kinds. */
  private static Map<String, String> kindColours(List<Event> faults) {
    Map<String, String> colours = new TreeMap<>();
    faults.forEach(f -> colours.put(kind(f), ""));
    int i = 0;
    for (Map.Entry<String, String> entry : colours.entrySet()) {
      entry.setValue(PALETTE[i++ % PALETTE.length]);
    }
    return colours;
  }

  private static String kind(Event event) {
    return event.kind() == null || event.kind().isEmpty() ? "(no kind)" : event.kind();
  }

  static String seconds(long millis) {
    return Html.trim(millis / 1000.0) + " s";
  }

  private static long value(Long boxed) {
    return boxed == null ? 0 : boxed;
  }

  private static int legendRows(List<String> legend) {
    int rows = 1;
    double x = 10;
    for (String entry : legend) {
      double width = 28 + label(entry).length() * 7.5;
      if (x + width > WIDTH && x > 10) {
        rows++;
        x = 10;
      }
      x += width;
    }
    return rows;
  }

  private static String label(String text) {
    return text.length() <= LABEL_CHARS_MAX ? text : text.substring(0, LABEL_CHARS_MAX - 1) + "\u2026";
  }

  private static String empty(String text) {
    return "<p class=\"empty\">" + Html.escape(text) + "</p>\n";
  }

  private static String note(String text) {
    return "<p class=\"note\">" + Html.escape(text) + "</p>\n";
  }

  private static List<Point> thin(List<Point> points, int max) {
    if (points.size() <= max) {
      return points;
    }
    List<Point> kept = new ArrayList<>(max);
    double step = (points.size() - 1) / (double) (max - 1);
    for (int i = 0; i < max; i++) {
      kept.add(points.get((int) Math.round(i * step)));
    }
    return kept;
  }

  /** Step of 1, 2 or 5 times a power of ten that cuts {@code max} into about {@code parts}. */
  private static double niceStep(double max, int parts) {
    if (max <= 0) {
      return 1;
    }
    double raw = max / parts;
    double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    double fraction = raw / magnitude;
    double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
    return nice * magnitude;
  }

  /** The plotting area inside an SVG, in viewBox units. */
  private record Frame(int left, int top, int width, int height) {

    int bottom() {
      return top + height;
    }

    double x(double value, double max) {
      return left + (max <= 0 ? 0 : width * value / max);
    }

    double y(double value, double max) {
      return bottom() - (max <= 0 ? 0 : height * value / max);
    }

    /** Draws grid lines and labels from 0 up past {@code max}; returns the tick values, last one the top. */
    double[] yAxis(Svg svg, double max, DoubleFunction<String> format) {
      double step = niceStep(max, 5);
      int count = (int) Math.max(1, Math.ceil(max / step));
      double[] ticks = new double[count + 1];
      for (int i = 0; i <= count; i++) {
        ticks[i] = i * step;
        double y = y(ticks[i], count * step);
        svg.line(left, y, left + width, y, i == 0 ? AXIS : GRID, 1);
        svg.text(left - 8, y + 4, "end", AXIS, 12, format.apply(ticks[i]));
      }
      return ticks;
    }

    /** A time axis under the frame, 0 to {@code endMillis}, labelled in seconds. */
    void timeAxis(Svg svg, long endMillis) {
      double endSeconds = endMillis / 1000.0;
      double step = niceStep(endSeconds, 8);
      svg.line(left, bottom(), left + width, bottom(), AXIS, 1);
      int ticks = (int) Math.floor(endSeconds / step + 1e-9);
      for (int i = 0; i <= ticks; i++) {
        double t = i * step;
        double x = x(t, endSeconds);
        svg.line(x, bottom(), x, bottom() + 5, AXIS, 1);
        svg.text(x, bottom() + 19, "middle", AXIS, 12, Html.trim(t) + " s");
      }
      svg.text(left + width / 2.0, bottom() + 38, "middle", AXIS, 13, "time since the run started");
    }
  }
}
