package io.ferry.cli;

import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import java.nio.file.Path;
import java.util.List;

/** Lets tests in other packages read a JSON-lines archive the way the demo checks it. */
public final class DemoAccess {
  private DemoAccess() {}

  public static List<Row> readArchive(QueryGraph graph, Path archive) {
    return Demo.readArchive(graph, archive);
  }
}
