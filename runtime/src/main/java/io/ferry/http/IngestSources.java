package io.ferry.http;

import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;

/** The {@code {source}} path id of {@code /ingest/{source}}: well-formed as an ingest spec requires it. */
final class IngestSources {
  private IngestSources() {}

  static void check(String source) {
    try {
      new OperatorSpec.Ingest(source, null, -1);
    } catch (QueryException e) {
      throw new IllegalArgumentException(e.getMessage().replace("ingest: source", "source"), e);
    }
  }
}
