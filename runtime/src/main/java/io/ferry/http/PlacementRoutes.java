package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ferry.query.QueryGraph;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** The placement manager's decisions, plans without deploying, and the links between sites (docs/placement.md). */
final class PlacementRoutes {
  private PlacementRoutes() {}

  static final String PLAN_EXAMPLE =
      "{\"graph\": {\"id\": \"q\", \"nodes\": [...]}, \"placement\": {\"src\": \"edge-a\", \"out\": \"cloud\"},"
          + " \"topology\": {\"sites\": {\"edge-a\": {\"tier\": \"edge\", \"cores\": 2}, \"cloud\": {\"tier\": \"cloud\", \"cores\": 16}},"
          + " \"default-link\": {\"rtt\": \"40ms\", \"bandwidth\": 1000000}}}";

  static final String MODE_EXAMPLE = "{\"query\": \"readings\", \"mode\": \"automatic\"}";
  static final String UNPIN_EXAMPLE = "{\"query\": \"readings\", \"node\": \"window-a\"}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/decisions", (ctx, p) -> completeWithFuture(decisions(ctx)), 200, 500, 504),
          Endpoint.get("/links", (ctx, p) -> completeWithFuture(links(ctx)), 200, 500, 504),
          Endpoint.get("/measurements", (ctx, p) -> completeWithFuture(measurements(ctx)), 200, 500, 504),
          Endpoint.post("/placement/mode", (ctx, p) -> ctx.body(ModeRequest.class, "a placement mode", MODE_EXAMPLE, r -> mode(ctx, r)), 200, 400, 409, 413, 500, 504),
          Endpoint.post("/placement/unpin", (ctx, p) -> ctx.body(UnpinRequest.class, "a pinned node", UNPIN_EXAMPLE, r -> unpin(ctx, r)), 200, 400, 409, 413, 500, 504),
          Endpoint.post("/plans", (ctx, p) -> ctx.body(PlanRequest.class, "a graph spec", PLAN_EXAMPLE, r -> plan(ctx, r)), 200, 400, 409, 413, 500, 504));

  /**
   * A graph with the sites of its sources and sinks, and optionally a topology block (as in a
   * topology file); without one the plan is made on the cluster as the placement manager sees it.
   */
  record PlanRequest(QueryGraph graph, Map<String, String> placement, JsonNode topology) {
    PlanRequest {
      if (graph == null) {
        throw BadRequest.field("graph", "field 'graph' is missing: the query graph to plan");
      }
      placement = placement == null ? Map.of() : Map.copyOf(placement);
    }

    Optional<Config> topologyConfig() {
      if (topology == null || topology.isNull()) {
        return Optional.empty();
      }
      try {
        return Optional.of(ConfigFactory.parseString(topology.toString()).resolve());
      } catch (com.typesafe.config.ConfigException e) {
        throw BadRequest.field("topology", "field 'topology' is not a topology block: " + e.getMessage());
      }
    }
  }

  /** {@code query} absent: the cluster's mode; {@code mode} manual, automatic, or default (a query back to the cluster's). */
  record ModeRequest(String query, String mode) {
    ModeRequest {
      if (mode == null || !(mode.equals("manual") || mode.equals("automatic") || (mode.equals("default") && query != null))) {
        throw BadRequest.field("mode", "field 'mode' must be manual or automatic" + (query != null ? ", or default (the cluster's)" : "") + ", got "
            + (mode == null ? "nothing" : "'" + mode + "'"));
      }
    }
  }

  record UnpinRequest(String query, String node) {
    UnpinRequest {
      if (query == null || query.isBlank()) {
        throw BadRequest.field("query", "field 'query' is missing: the query of the pinned node");
      }
      if (node == null || node.isBlank()) {
        throw BadRequest.field("node", "field 'node' is missing: the pinned node");
      }
    }
  }

  record Done(String query, String mode, String node) {}

  /** 200 once the manager has the mode; 409 when it has not seen the query. */
  private static CompletionStage<HttpResponse> mode(EndpointContext ctx, ModeRequest r) {
    return ctx.answer(ctx.ferry().changePlacementMode(r.query(), r.mode()), d -> ctx.json(StatusCodes.OK, new Done(r.query(), r.mode(), null)),
        StatusCodes.CONFLICT);
  }

  /** 200 once the pin is lifted (persisted); 409 when the node is not pinned. */
  private static CompletionStage<HttpResponse> unpin(EndpointContext ctx, UnpinRequest r) {
    return ctx.answer(ctx.ferry().unpin(r.query(), r.node()), d -> ctx.json(StatusCodes.OK, new Done(r.query(), null, r.node())), StatusCodes.CONFLICT);
  }

  record DecisionsView(List<io.ferry.api.PlacementDecision> decisions) {}

  record LinksView(List<io.ferry.api.SiteLink> links) {}

  private static CompletionStage<HttpResponse> decisions(EndpointContext ctx) {
    return ctx.answer(ctx.ferry().decisions(), all -> ctx.json(StatusCodes.OK, new DecisionsView(all)), StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private static CompletionStage<HttpResponse> links(EndpointContext ctx) {
    return ctx.answer(ctx.ferry().links(), all -> ctx.json(StatusCodes.OK, new LinksView(all)), StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private static CompletionStage<HttpResponse> measurements(EndpointContext ctx) {
    return ctx.answer(ctx.ferry().measurements(), m -> ctx.json(StatusCodes.OK, m), StatusCodes.INTERNAL_SERVER_ERROR);
  }

  /** 200 with the plan and a reason per node; 400 for a bad topology; 409 when no plan can be made. */
  private static CompletionStage<HttpResponse> plan(EndpointContext ctx, PlanRequest r) {
    Optional<Config> topology;
    try {
      topology = r.topologyConfig();
    } catch (BadRequest e) {
      return EndpointContext.done(ctx.error(StatusCodes.BAD_REQUEST, e.getMessage(), e.field()));
    }
    CompletionStage<io.ferry.api.PlacementPlan> plan;
    try {
      plan = ctx.ferry().plan(r.graph(), r.placement(), topology);
    } catch (IllegalArgumentException e) {
      return EndpointContext.done(ctx.error(StatusCodes.BAD_REQUEST, e.getMessage(), Optional.of("topology")));
    }
    return ctx.answer(plan, p -> ctx.json(StatusCodes.OK, p), StatusCodes.CONFLICT);
  }
}
