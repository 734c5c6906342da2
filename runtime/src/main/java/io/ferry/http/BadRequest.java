package io.ferry.http;

import java.util.Optional;

/** A request the endpoint cannot act on as sent: answered 400 with the message and the field it concerns, if any. */
final class BadRequest extends IllegalArgumentException {
  private final Optional<String> field;

  BadRequest(Optional<String> field, String message) {
    super(message);
    this.field = field;
  }

  static BadRequest field(String field, String message) {
    return new BadRequest(Optional.of(field), message);
  }

  Optional<String> field() {
    return field;
  }

  /**
   * Runs {@code check}, the constructor of a typed name (a site, a node or query id): a name that
   * breaks its type's rule is a 400 naming the field, with the rule in the message.
   */
  static void named(String field, Runnable check) {
    try {
      check.run();
    } catch (RuntimeException e) {
      throw field(field, "field '" + field + "': " + e.getMessage());
    }
  }

  /** {@code value} must be present and not blank; {@code what} says what it names. */
  static String text(String field, String value, String what) {
    if (value == null) {
      throw field(field, "field '" + field + "' is missing: name " + what);
    }
    if (value.isBlank()) {
      throw field(field, "field '" + field + "' must be a non-empty string (" + what + "), got \"" + value + "\"");
    }
    return value;
  }
}
