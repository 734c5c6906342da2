package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * One route of the management endpoint: a method, a path template such as {@code
 * /queries/{query}/status}, and the handler that answers it with the template's parameters in
 * order. The routing is built from these, and the OpenAPI test reads the same list, so what is
 * served and what is documented cannot drift apart unnoticed.
 */
public record Endpoint(String method, String path, Handler handler) {

  /** Answers a request to this endpoint; {@code params} are the path's {@code {…}} segments in order. */
  @FunctionalInterface
  public interface Handler {
    Route handle(EndpointContext ctx, List<String> params);
  }

  public Endpoint {
    if (HttpMethods.lookup(method).isEmpty()) {
      throw new IllegalArgumentException("unknown HTTP method '" + method + "' for " + path);
    }
    if (!path.startsWith("/") || path.length() > 1 && path.endsWith("/")) {
      throw new IllegalArgumentException("an endpoint path starts with '/' and does not end with one, got '" + path + "'");
    }
  }

  static Endpoint get(String path, Handler handler) {
    return new Endpoint("GET", path, handler);
  }

  static Endpoint post(String path, Handler handler) {
    return new Endpoint("POST", path, handler);
  }

  /** The route that matches exactly this method and path (a trailing slash allowed) and calls the handler. */
  Route route(EndpointContext ctx) {
    List<String> segments = Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
    return match(ctx, segments, 0, List.of());
  }

  private Route match(EndpointContext ctx, List<String> segments, int i, List<String> params) {
    if (i == segments.size()) {
      return pathEndOrSingleSlash(() -> Directives.method(HttpMethods.lookup(method).orElseThrow(), () -> handler.handle(ctx, params)));
    }
    String segment = segments.get(i);
    if (segment.startsWith("{") && segment.endsWith("}")) {
      return pathPrefix(
          PathMatchers.segment(),
          value -> {
            List<String> more = new ArrayList<>(params);
            more.add(value);
            return match(ctx, segments, i + 1, List.copyOf(more));
          });
    }
    return pathPrefix(segment, () -> match(ctx, segments, i + 1, params));
  }
}
