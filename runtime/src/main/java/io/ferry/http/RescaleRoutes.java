package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeout;

import io.ferry.query.KeyGroups;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** Live rescaling of keyed nodes: {@code POST /queries/{query}/nodes/{node}/rescale} and {@code GET /rescales}. */
final class RescaleRoutes {
  private RescaleRoutes() {}

  static final String EXAMPLE = "{\"parallelism\":3}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/rescales", (ctx, p) -> completeWithFuture(rescales(ctx)), 200, 500, 504),
          Endpoint.post(
              "/queries/{query}/nodes/{node}/rescale",
              (ctx, p) -> {
                QueryId query = new QueryId(p.get(0));
                NodeId node = new NodeId(p.get(1));
                return withRequestTimeout(
                    ManagementServer.migrationRequestTimeout(ctx.ferry()),
                    () -> ctx.body(RescaleRequest.class, "a rescale", EXAMPLE, r -> rescale(ctx, query, node, r)));
              },
              200, 400, 409, 413, 500, 504));

  /** How many instances the keyed node should run. */
  record RescaleRequest(Integer parallelism) {
    RescaleRequest {
      if (parallelism == null) {
        throw BadRequest.field("parallelism", "field 'parallelism' is missing: how many instances the keyed node should run, e.g. 3");
      }
      if (parallelism < 1 || parallelism > KeyGroups.PARALLELISM_MAX) {
        throw BadRequest.field("parallelism", "field 'parallelism' must be 1.." + KeyGroups.PARALLELISM_MAX + ", got " + parallelism);
      }
    }
  }

  /** 200 with the report once the rescale has ended (completed or rolled back); 409 when refused. */
  private static CompletionStage<HttpResponse> rescale(EndpointContext ctx, QueryId query, NodeId node, RescaleRequest r) {
    return ctx.answer(ctx.ferry().rescale(query, node, r.parallelism()), report -> ctx.json(StatusCodes.OK, report), StatusCodes.CONFLICT);
  }

  private static CompletionStage<HttpResponse> rescales(EndpointContext ctx) {
    return ctx.answer(ctx.ferry().rescales(), all -> ctx.json(StatusCodes.OK, all), StatusCodes.INTERNAL_SERVER_ERROR);
  }
}
