package io.ferry.query.ops;

import io.ferry.query.OperatorSpec;
import java.util.List;

/**
 * The reader of an ingest source: its rows come in through {@code NodeState.ingest}, persisted as
 * they are accepted, so reading only says whether the source has ended (after {@code count} rows).
 */
public final class IngestReader implements SourceReader {
  private final OperatorSpec.Ingest spec;

  public IngestReader(OperatorSpec.Ingest spec) {
    this.spec = spec;
  }

  @Override
  public Read read(long anchor, int max) {
    return new Read(List.of(), anchor, spec.count() >= 0 && anchor >= spec.count());
  }
}
