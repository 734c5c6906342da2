package io.ferry.simulator.report;

import java.util.Locale;

/** Text-to-markup helpers shared by the page and its SVG plots; nothing from a report reaches markup unescaped. */
final class Html {

  private Html() {}

  /** Escapes for both element text and quoted attribute values; null renders as empty. */
  static String escape(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  /** Whole numbers with thin grouping ("1 234 567"), so that large row counts stay readable. */
  static String count(long value) {
    return String.format(Locale.ROOT, "%,d", value).replace(',', '\u2009');
  }

  /** Short axis labels: 950, 1.5k, 12M. */
  static String compact(double value) {
    double abs = Math.abs(value);
    if (abs >= 1e9) {
      return trim(value / 1e9) + "G";
    }
    if (abs >= 1e6) {
      return trim(value / 1e6) + "M";
    }
    if (abs >= 1e3) {
      return trim(value / 1e3) + "k";
    }
    return trim(value);
  }

  /** Up to two decimals, trailing zeros dropped: 1.5, 2, 0.25. */
  static String trim(double value) {
    String s = String.format(Locale.ROOT, "%.2f", value);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  /** Bytes with a binary unit: 512 B, 1.5 KiB, 3.2 MiB. */
  static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
