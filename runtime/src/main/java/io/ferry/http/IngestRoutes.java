package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import io.ferry.api.FerryException;
import io.ferry.api.IngestReceipt;
import io.ferry.query.NodeSpec;
import io.ferry.query.Row;
import io.ferry.query.ops.JsonRows;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * {@code POST /ingest/{source}}: JSON lines into a deployed ingest source. Every line is checked
 * against the source's schema before anything is taken; a bad line refuses the whole request with
 * its line number. The answer comes after the source node has persisted the rows.
 */
final class IngestRoutes {
  private IngestRoutes() {}

  /** Rows one request may carry, besides the byte limit ferry.http.request-bytes-max. */
  static final int ROWS_MAX = 10_000;

  static final List<Endpoint> ENDPOINTS =
      List.of(Endpoint.post("/ingest/{source}", (ctx, p) -> ingest(ctx, p.get(0)), 200, 400, 404, 409, 413, 500, 503, 504));

  private static Route ingest(EndpointContext ctx, String source) {
    return withSizeLimit(
        ctx.settings().requestBytesMax(),
        () -> entity(Unmarshaller.entityToByteString(), bytes -> completeWithFuture(ingest(ctx, source, bytes.toArray()))));
  }

  private static CompletionStage<HttpResponse> ingest(EndpointContext ctx, String source, byte[] body) {
    return ctx.ferry()
        .ingestSource(source)
        .<Object>thenCompose(
            node -> {
              if (node.isEmpty()) {
                return CompletableFuture.completedFuture(ctx.error(StatusCodes.NOT_FOUND, "no deployed query has an ingest source '" + source + "'"));
              }
              List<Row> rows = new ArrayList<>();
              Optional<HttpResponse> bad = parse(ctx, body, new JsonRows(node.get().outputSchema()), rows);
              if (bad.isPresent()) {
                return CompletableFuture.completedFuture(bad.get());
              }
              return ctx.ferry().ingest(node.get(), rows).thenApply(r -> r);
            })
        .handle(
            (Object answer, Throwable failure) -> {
              if (failure == null) {
                if (answer instanceof IngestReceipt r) {
                  return ctx.json(StatusCodes.OK, Map.of("source", source, "accepted", r.accepted(), "from", r.from(), "next", r.next()));
                }
                return (HttpResponse) answer;
              }
              Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
              if (cause instanceof FerryException e) {
                boolean retry = e.getMessage().startsWith("retry later");
                return ctx.error(retry ? StatusCodes.SERVICE_UNAVAILABLE : StatusCodes.CONFLICT, e.getMessage());
              }
              if (cause instanceof TimeoutException) {
                return ctx.error(StatusCodes.GATEWAY_TIMEOUT, "the cluster did not answer in time; the rows may or may not have been taken: " + cause.getMessage());
              }
              return ctx.unexpected(cause);
            });
  }

  /** Fills {@code rows} from the body's lines (blank lines skipped); the error answer if a line is bad. */
  static Optional<HttpResponse> parse(EndpointContext ctx, byte[] body, JsonRows json, List<Row> rows) {
    int line = 0;
    int start = 0;
    for (int i = 0; i <= body.length; i++) {
      if (i < body.length && body[i] != '\n') {
        continue;
      }
      line++;
      int end = i > start && body[i - 1] == '\r' ? i - 1 : i;
      if (!blank(body, start, end)) {
        if (rows.size() == ROWS_MAX) {
          return Optional.of(ctx.error(StatusCodes.PAYLOAD_TOO_LARGE, "more than " + ROWS_MAX + " rows in one request (line " + line + "); split it"));
        }
        try {
          rows.add(json.decode(body, start, end - start));
        } catch (JsonRows.BadRow e) {
          return Optional.of(ctx.error(StatusCodes.BAD_REQUEST, "line " + line + ": " + e.getMessage() + "; nothing of this request was taken"));
        }
      }
      start = i + 1;
    }
    if (rows.isEmpty()) {
      return Optional.of(ctx.error(StatusCodes.BAD_REQUEST, "no rows: send JSON objects, one per line"));
    }
    return Optional.empty();
  }

  private static boolean blank(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != ' ' && b[i] != '\t') {
        return false;
      }
    }
    return true;
  }
}
