package io.ferry.query.ops;

import io.ferry.query.Row;
import java.util.List;

/**
 * Reads a replayable source from an anchor: the same anchor always gives the same rows, so a
 * source node can restart anywhere from its persisted anchor.
 */
public interface SourceReader extends AutoCloseable {

  /**
   * Reads up to {@code max} rows starting at {@code anchor}. Returns the rows, the anchor after them
   * and whether the source has ended. A source with nothing new yet returns no rows, not ended.
   */
  Read read(long anchor, int max);

  @Override
  default void close() {}

  record Read(List<Row> rows, long next, boolean end) {}
}
