package io.ferry.query;

import java.util.regex.Pattern;

/** The one rule for query, node, site and field names, so entity ids and file names stay safe. */
final class Names {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  private Names() {}

  static String check(String what, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new QueryException(
          what + " must be 1-64 letters, digits, '_', '.' or '-' and start with a letter or digit, got '" + value + "'");
    }
    return value;
  }
}
