package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /audit}: the management endpoint's recent guarded requests, who made them and how they ended (admin only). */
final class AuditRoutes {
  private AuditRoutes() {}

  static final List<Endpoint> ENDPOINTS =
      List.of(Endpoint.get("/audit", (ctx, p) -> complete(ctx.json(StatusCodes.OK, Map.of("entries", ctx.security().audit().entries()))), 200));
}
