package io.ferry.simulator.report;

import java.util.Locale;

/**
 * Builds one inline {@code <svg>} element as text, for {@link Plots}. Coordinates are in a fixed
 * viewBox so that the page can scale the plot to its width; every string goes through {@link
 * Html#escape}. No XML namespace: inline SVG in HTML does not need one, and the page must not
 * name any URL.
 */
final class Svg {

  private final StringBuilder out = new StringBuilder(4096);

  Svg(int width, int height, String label) {
    out.append("<svg class=\"plot\" viewBox=\"0 0 ")
        .append(width)
        .append(' ')
        .append(height)
        .append("\" width=\"")
        .append(width)
        .append("\" height=\"")
        .append(height)
        .append("\" role=\"img\" aria-label=\"")
        .append(Html.escape(label))
        .append("\">\n");
  }

  Svg line(double x1, double y1, double x2, double y2, String stroke, double strokeWidth) {
    out.append("<line x1=\"").append(n(x1)).append("\" y1=\"").append(n(y1))
        .append("\" x2=\"").append(n(x2)).append("\" y2=\"").append(n(y2))
        .append("\" stroke=\"").append(Html.escape(stroke))
        .append("\" stroke-width=\"").append(n(strokeWidth)).append("\"/>\n");
    return this;
  }

  /** A rectangle; {@code tooltip} becomes its {@code <title>}, shown on hover. */
  Svg rect(double x, double y, double width, double height, String fill, String tooltip) {
    out.append("<rect x=\"").append(n(x)).append("\" y=\"").append(n(y))
        .append("\" width=\"").append(n(width)).append("\" height=\"").append(n(height))
        .append("\" fill=\"").append(Html.escape(fill)).append('"');
    return closeWithTitle("rect", tooltip);
  }

  Svg circle(double cx, double cy, double r, String fill, String tooltip) {
    out.append("<circle cx=\"").append(n(cx)).append("\" cy=\"").append(n(cy))
        .append("\" r=\"").append(n(r)).append("\" fill=\"").append(Html.escape(fill))
        .append("\" fill-opacity=\"0.85\"");
    return closeWithTitle("circle", tooltip);
  }

  /** An open line through {@code xs[i], ys[i]}. */
  Svg polyline(double[] xs, double[] ys, String stroke, double strokeWidth) {
    out.append("<polyline fill=\"none\" stroke=\"").append(Html.escape(stroke))
        .append("\" stroke-width=\"").append(n(strokeWidth))
        .append("\" stroke-linejoin=\"round\" points=\"");
    for (int i = 0; i < xs.length; i++) {
      if (i > 0) {
        out.append(' ');
      }
      out.append(n(xs[i])).append(',').append(n(ys[i]));
    }
    out.append("\"/>\n");
    return this;
  }

  /** Text at (x, y); {@code anchor} is start, middle or end. */
  Svg text(double x, double y, String anchor, String fill, int size, String text) {
    out.append("<text x=\"").append(n(x)).append("\" y=\"").append(n(y))
        .append("\" text-anchor=\"").append(Html.escape(anchor))
        .append("\" fill=\"").append(Html.escape(fill))
        .append("\" font-size=\"").append(size).append("\">")
        .append(Html.escape(text)).append("</text>\n");
    return this;
  }

  /** Text turned a quarter to the left, for a y-axis title. */
  Svg verticalText(double x, double y, String fill, int size, String text) {
    out.append("<text transform=\"translate(").append(n(x)).append(',').append(n(y))
        .append(") rotate(-90)\" text-anchor=\"middle\" fill=\"").append(Html.escape(fill))
        .append("\" font-size=\"").append(size).append("\">")
        .append(Html.escape(text)).append("</text>\n");
    return this;
  }

  String end() {
    return out.append("</svg>\n").toString();
  }

  private Svg closeWithTitle(String element, String tooltip) {
    if (tooltip == null || tooltip.isEmpty()) {
      out.append("/>\n");
    } else {
      out.append("><title>").append(Html.escape(tooltip)).append("</title></").append(element).append(">\n");
    }
    return this;
  }

  private static String n(double value) {
    return String.format(Locale.ROOT, "%.1f", value);
  }
}
