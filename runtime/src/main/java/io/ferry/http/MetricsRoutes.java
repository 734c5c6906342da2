package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import io.ferry.runtime.metrics.MemberMetrics;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** {@code /metrics}: the member's meters in the Prometheus text format, for a Prometheus server to scrape. */
final class MetricsRoutes {
  private MetricsRoutes() {}

  private static final ContentType PROMETHEUS_TEXT =
      MediaTypes.customWithOpenCharset("text", "plain", Map.of("version", "0.0.4"), false).toContentType(HttpCharsets.UTF_8);

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get(
              "/metrics",
              (ctx, p) -> complete(HttpResponse.create().withStatus(StatusCodes.OK).withEntity(PROMETHEUS_TEXT, MemberMetrics.get(ctx.system()).scrape().getBytes(StandardCharsets.UTF_8))),
              200));
}
