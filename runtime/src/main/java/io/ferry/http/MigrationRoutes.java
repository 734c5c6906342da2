package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeout;

import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import io.ferry.query.QueryId;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /migrations}: move nodes of a running query, and the reports of running and recent moves. */
final class MigrationRoutes {
  private MigrationRoutes() {}

  static final String EXAMPLE = "{\"query\":\"q\",\"nodes\":[\"window-a\"],\"to\":\"cloud\"}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/migrations", (ctx, p) -> completeWithFuture(migrations(ctx)), 200, 500, 504),
          Endpoint.post(
              "/migrations",
              (ctx, p) ->
                  withRequestTimeout(
                      ManagementServer.migrationRequestTimeout(ctx.ferry()),
                      () -> ctx.body(MigrationRequest.class, "a migration instruction", EXAMPLE, r -> migrate(ctx, r))),
              200, 400, 409, 413, 500, 504),
          Endpoint.get("/migrations/{id}", (ctx, p) -> completeWithFuture(migration(ctx, p.get(0))), 200, 400, 404, 500, 504));

  /** Which nodes of which query to move to which site. */
  record MigrationRequest(String query, List<String> nodes, String to) {
    MigrationRequest {
      BadRequest.text("query", query, "the query to move nodes of");
      BadRequest.text("to", to, "the site to move the nodes to");
      if (nodes == null) {
        throw BadRequest.field("nodes", "field 'nodes' is missing: list the node ids to move, e.g. [\"window-a\"]");
      }
      if (nodes.isEmpty()) {
        throw BadRequest.field("nodes", "field 'nodes' must be a non-empty array of node ids, got []");
      }
      for (String n : nodes) {
        if (n == null || n.isBlank()) {
          throw BadRequest.field("nodes", "field 'nodes' must hold node ids (non-empty strings), got " + (n == null ? "null" : "\"" + n + "\""));
        }
        BadRequest.named("nodes", () -> new NodeId(n));
      }
      BadRequest.named("query", () -> new QueryId(query));
      BadRequest.named("to", () -> new Site(to));
    }

    MigrationInstruction instruction() {
      return MigrationInstruction.of(query, nodes, to);
    }
  }

  /** 200 with the report once the move has ended (completed or rolled back); 409 when refused. */
  private static CompletionStage<HttpResponse> migrate(EndpointContext ctx, MigrationRequest request) {
    return ctx.answer(ctx.ferry().migrate(request.instruction()), report -> ctx.json(StatusCodes.OK, report), StatusCodes.CONFLICT);
  }

  private static CompletionStage<HttpResponse> migrations(EndpointContext ctx) {
    return ctx.answer(ctx.ferry().migrations(), all -> ctx.json(StatusCodes.OK, all), StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private static CompletionStage<HttpResponse> migration(EndpointContext ctx, String id) {
    return ctx.answer(
        ctx.ferry().migrations(),
        all -> {
          for (MigrationReport r : all) {
            if (r.id().value().equals(id)) {
              return ctx.json(StatusCodes.OK, r);
            }
          }
          return ctx.error(StatusCodes.NOT_FOUND, "no migration '" + id + "' (the registry keeps the running and the last finished ones)");
        },
        StatusCodes.INTERNAL_SERVER_ERROR);
  }
}
