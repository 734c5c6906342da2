package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import io.ferry.api.EngineChoice;
import io.ferry.api.NodeStatus;
import io.ferry.api.Placement;
import io.ferry.api.QueryInfo;
import io.ferry.api.SqlDeployment;
import io.ferry.placement.Site;
import io.ferry.query.NodeId;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryGraph;
import io.ferry.query.QueryId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /queries}: list, deploy, and the status of each node of a deployed query. */
final class QueryRoutes {
  private QueryRoutes() {}

  /** Operator class → its JSON kind, from the one place kinds are named: OperatorSpec's annotation. */
  private static final Map<Class<?>, String> OP_KINDS = opKinds();

  static final String SQL_EXAMPLE = "{\"query\": \"q\", \"sql\": \"CREATE TABLE ...; INSERT INTO sink SELECT ...\"}";

  static final String DEPLOY_EXAMPLE = "{\"graph\": {\"id\": \"q\", \"nodes\": [...]}, \"placement\": {\"src\": \"edge-a\", \"out\": \"cloud\"}}";

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/queries", (ctx, p) -> completeWithFuture(queries(ctx)), 200, 500, 504),
          Endpoint.post(
              "/queries", (ctx, p) -> ctx.body(DeployRequest.class, "a deployment", DEPLOY_EXAMPLE, r -> deploy(ctx, r)), 201, 400, 409, 413, 500, 504),
          Endpoint.get("/queries/{query}/status", (ctx, p) -> completeWithFuture(status(ctx, new QueryId(p.get(0)))), 200, 400, 404, 500, 504));

  /** @param engine the engine the query runs on and how it was chosen */
  record QueryView(String query, String deploymentId, List<NodeView> nodes, EngineChoice engine) {}

  /** @param member the member address, null while the node is not placed yet */
  record NodeView(String node, String op, String site, String member) {}

  /**
   * @param pausedBy the migration that holds the node paused, null when it runs
   * @param engine the query's engine and how it was chosen (the same for every node of a query)
   */
  record NodeStatusView(
      String node,
      String address,
      long outputAnchor,
      Map<String, Long> inputAnchors,
      long retainedRows,
      boolean done,
      String pausedBy,
      EngineChoice engine) {}

  /** How a deployment's engine was chosen, as sent by {@code ferry run --engine}: name distributed, chosen explicit or auto. */
  record EngineRequest(String name, String chosen, String reason) {}

  /**
   * A deployment: the JSON form of {@link QueryGraph} (what {@code ferry submit} sends) and the
   * site of each node; or, instead of the graph, the query as SQL text ({@code sql}) and its name
   * ({@code query}), with sites from its hints and table options and {@code placement} optional.
   */
  record DeployRequest(QueryGraph graph, Map<String, String> placement, String sql, String query, EngineRequest engine) {
    DeployRequest {
      if (engine != null) {
        try {
          new EngineChoice(engine.name(), engine.chosen(), engine.reason());
        } catch (IllegalArgumentException e) {
          throw BadRequest.field("engine", "field 'engine': " + e.getMessage());
        }
      }
      if (graph == null && sql == null) {
        throw BadRequest.field("graph", "field 'graph' is missing: give the query graph, e.g. " + DEPLOY_EXAMPLE + ", or its SQL as "
            + SQL_EXAMPLE);
      }
      if (graph != null && sql != null) {
        throw BadRequest.field("sql", "give either 'graph' or 'sql', not both");
      }
      if (sql != null && query == null) {
        throw BadRequest.field("query", "field 'query' is missing: name the SQL query, e.g. " + SQL_EXAMPLE);
      }
      if (sql != null) {
        BadRequest.named("query", () -> new QueryId(query));
        placement = placement == null ? Map.of() : placement;
      }
      if (placement == null) {
        throw BadRequest.field("placement", "field 'placement' is missing: name the site of each node, e.g. {\"src\": \"edge-a\"}");
      }
      for (Map.Entry<String, String> e : placement.entrySet()) {
        if (e.getValue() == null) {
          throw BadRequest.field("placement", "field 'placement' must map each node id to a site name, got null for '" + e.getKey() + "'");
        }
        BadRequest.named("placement", () -> new NodeId(e.getKey()));
        BadRequest.named("placement", () -> new Site(e.getValue()));
      }
    }
  }

  private static CompletionStage<HttpResponse> queries(EndpointContext ctx) {
    return ctx.answer(
        ctx.ferry().queries(),
        all -> {
          List<QueryView> out = new ArrayList<>();
          for (QueryInfo q : all) {
            List<NodeView> nodes = new ArrayList<>();
            for (NodeSpec n : q.nodes()) {
              String id = n.id().value();
              nodes.add(new NodeView(id, OP_KINDS.getOrDefault(n.op().getClass(), n.op().getClass().getSimpleName()), q.sites().get(id), q.members().get(id)));
            }
            out.add(new QueryView(q.query().value(), q.deploymentId(), nodes, q.engine()));
          }
          return ctx.json(StatusCodes.OK, out);
        },
        StatusCodes.INTERNAL_SERVER_ERROR);
  }

  /** 201 with the members each node runs on, 409 when the cluster refuses the deployment. */
  private static CompletionStage<HttpResponse> deploy(EndpointContext ctx, DeployRequest request) {
    QueryGraph graph = request.graph();
    Placement placement;
    if (request.sql() != null) {
      SqlDeployment.Planned planned;
      try {
        planned = SqlDeployment.plan("sql", request.sql(), new QueryId(request.query()), request.placement());
      } catch (QueryException e) {
        // The compiler's message has the line and column in the SQL text.
        return EndpointContext.done(ctx.error(StatusCodes.BAD_REQUEST, e.getMessage(), java.util.Optional.of("sql")));
      }
      graph = planned.compiled().graph();
      placement = planned.placement();
    } else {
      placement = new Placement(request.placement());
    }
    EngineRequest e = request.engine();
    EngineChoice engine = e == null ? EngineChoice.deployed() : new EngineChoice(e.name(), e.chosen(), e.reason());
    return ctx.answer(ctx.ferry().deploy(graph, placement, engine), d -> ctx.json(StatusCodes.CREATED, d), StatusCodes.CONFLICT);
  }

  private record StatusAndEngine(List<NodeStatus> nodes, EngineChoice engine) {}

  private static CompletionStage<HttpResponse> status(EndpointContext ctx, QueryId id) {
    // The nodes' status fails when the query is not deployed; then the engine is not looked up.
    CompletionStage<StatusAndEngine> both =
        ctx.ferry().status(id).thenCompose(nodes -> ctx.ferry().queries().thenApply(all -> new StatusAndEngine(nodes,
            all.stream().filter(q -> q.query().equals(id)).map(QueryInfo::engine).findFirst().orElse(EngineChoice.deployed()))));
    return ctx.answer(
        both,
        all -> {
          List<NodeStatusView> out = new ArrayList<>();
          for (NodeStatus s : all.nodes()) {
            out.add(new NodeStatusView(
                s.node().value(), s.address(), s.outputAnchor(), s.inputAnchors(), s.retainedRows(), s.done(), s.pausedBy().orElse(null),
                all.engine()));
          }
          return ctx.json(StatusCodes.OK, out);
        },
        StatusCodes.NOT_FOUND);
  }

  private static Map<Class<?>, String> opKinds() {
    Map<Class<?>, String> kinds = new HashMap<>();
    for (JsonSubTypes.Type t : OperatorSpec.class.getAnnotation(JsonSubTypes.class).value()) {
      kinds.put(t.value(), t.name());
    }
    return Map.copyOf(kinds);
  }
}
