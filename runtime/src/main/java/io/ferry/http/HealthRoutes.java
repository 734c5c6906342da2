package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import java.util.List;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /health}: which member answers, its site and tier, and its cluster status. */
final class HealthRoutes {
  private HealthRoutes() {}

  record Health(String member, String site, String tier, String status) {}

  static final List<Endpoint> ENDPOINTS = List.of(Endpoint.get("/health", (ctx, p) -> complete(ctx.json(StatusCodes.OK, health(ctx))), 200));

  private static Health health(EndpointContext ctx) {
    var self = Cluster.get(ctx.system()).selfMember();
    return new Health(self.address().toString(), ctx.member().site(), ctx.member().tier(), self.status().toString());
  }
}
