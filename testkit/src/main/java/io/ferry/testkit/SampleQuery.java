package io.ferry.cli;

import io.ferry.api.Placement;
import io.ferry.api.Query;
import io.ferry.query.OperatorSpec;
import io.ferry.query.Predicate;
import io.ferry.query.QueryGraph;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The demo's query: at each of two edge sites a seeded sensor stream is filtered, stripped of its
 * PII field and aggregated in one-second tumbling windows; the cloud collects both sites' window results in an in-cluster
 * sink and archives them in a JSON-lines file.
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
}
