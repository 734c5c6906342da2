package io.ferry.testkit;

import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import io.ferry.query.Row;
import io.ferry.query.ops.Operators;
import io.ferry.query.ops.SourceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo's query: at each of two edge sites a seeded sensor stream is filtered, stripped of its
 * PII field and aggregated in one-second tumbling windows; the cloud collects both sites' window results in an in-cluster
 * sink and archives them in a JSON-lines file. The demo, the simulator and the integration tests run it.
 */
public final class SampleQuery {
  public static final String QUERY = "readings";
  public static final String SINK = "out";
  public static final String ARCHIVE = "archive";

  private SampleQuery() {}

  /**
   * @param recordsPerSite rows each edge source emits before it ends
   * @param ratePerSite rows per second per source, 0 for as fast as the pipeline goes
   */
  public static QueryGraph graph(String query, long recordsPerSite, long ratePerSite, Path archive) {
    Query q = Query.named(query);
    for (String site : new String[] {"a", "b"}) {
      q.generate("src-" + site, new OperatorSpec.Generate(site.equals("a") ? 11 : 23, 16, recordsPerSite, 1_700_000_000_000L, 2, 300, ratePerSite))
          .filter("filter-" + site, "src-" + site, Predicate.field("value", Predicate.Op.GE, 100L))
          // The owner is PII: it is dropped at the edge, so the window may run in the cloud too.
          .project("anon-" + site, "filter-" + site, Query.project().drop("owner"))
          .window(
              "window-" + site,
              "anon-" + site,
              Query.tumbling("key", "ts", Duration.ofSeconds(1))
                  .allowedLateness(Duration.ofMillis(200))
                  .count("n")
                  .sum("value", "total")
                  .min("value", "low")
                  .max("value", "high")
                  .avg("value", "mean"));
    }
    q.collect(SINK, "window-a", "window-b");
    if (archive != null) {
      q.writeJsonLines(ARCHIVE, archive.toString(), "window-a", "window-b");
    }
    return q.build();
  }

  /** Sources, filters and windows at their edge sites; the sinks in the cloud. */
  public static Placement placement(boolean withArchive) {
    Placement.Builder p =
        Placement.builder()
            .place("edge-a", "src-a", "filter-a", "anon-a", "window-a")
            .place("edge-b", "src-b", "filter-b", "anon-b", "window-b")
            .place("cloud", SINK);
    if (withArchive) {
      p.place("cloud", ARCHIVE);
    }
    return p.build();
  }

  /** Reads the archive file back with Ferry's own JSON-lines reader and the windows' schema; no file, no rows. */
  public static List<Row> readArchive(QueryGraph graph, Path archive) {
    NodeSpec sinkSpec = graph.compile().stream().filter(s -> s.id().value().equals(ARCHIVE)).findFirst().orElseThrow();
    if (!Files.exists(archive)) {
      return List.of();
    }
    NodeSpec reader =
        new NodeSpec(graph.id(), new NodeId("check"), new OperatorSpec.ReadJsonLines(archive.toString(), sinkSpec.inputSchema()),
            List.of(), List.of(), null, sinkSpec.inputSchema());
    List<Row> rows = new ArrayList<>();
    try (SourceReader r = Operators.source(reader)) {
      long anchor = 0;
      while (true) {
        SourceReader.Read read = r.read(anchor, 10_000);
        if (read.rows().isEmpty()) {
          return rows;
        }
        rows.addAll(read.rows());
        anchor = read.next();
      }
    }
  }
}
