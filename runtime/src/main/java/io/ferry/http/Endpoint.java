package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import io.ferry.blocks.VolumeId;
import io.ferry.placement.MigrationId;
import io.ferry.query.QueryId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * One route of the management endpoint: a method, a path template such as {@code
 * /queries/{query}/status}, the statuses it can answer, and the handler that answers it with the
 * template's parameters in order. The routing is built from these, and the OpenAPI test reads the
 * same list, so what is served and what is documented cannot drift apart unnoticed.
 *
 * <p>A path id is checked here, the same way for every route: a malformed one is answered 400
 * naming the parameter, before the handler runs; a well-formed one the cluster does not know is
 * the handler's 404.
 */
public record Endpoint(String method, String path, Set<Integer> statuses, Handler handler) {

  /** Each path parameter's id type, by its name in templates: its constructor says what is malformed. */
  private static final Map<String, Consumer<String>> PATH_IDS =
      Map.of("query", QueryId::new, "id", MigrationId::new, "volume", VolumeId::new, "source", IngestSources::check, "job", io.ferry.tasks.JobId::new, "node", io.ferry.query.NodeId::new);

  /** Answers a request to this endpoint; {@code params} are the path's {@code {…}} segments in order, each a well-formed id. */
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
    statuses = Set.copyOf(new TreeSet<>(statuses));
    for (String p : parameters(path)) {
      if (!PATH_IDS.containsKey(p)) {
        throw new IllegalArgumentException("path parameter {" + p + "} of " + path + " has no id type; known: " + new TreeSet<>(PATH_IDS.keySet()));
      }
    }
    if (!parameters(path).isEmpty() && !statuses.contains(400)) {
      throw new IllegalArgumentException(method + " " + path + " has a path id, so it answers 400 for a malformed one: list 400");
    }
  }

  static Endpoint get(String path, Handler handler, Integer... statuses) {
    return new Endpoint("GET", path, Set.of(statuses), handler);
  }

  static Endpoint post(String path, Handler handler, Integer... statuses) {
    return new Endpoint("POST", path, Set.of(statuses), handler);
  }

  /** The names of the path's {@code {…}} segments, in order. */
  static List<String> parameters(String path) {
    return Arrays.stream(path.split("/")).filter(s -> s.startsWith("{") && s.endsWith("}")).map(s -> s.substring(1, s.length() - 1)).toList();
  }

  /** The route that matches exactly this method and path (a trailing slash allowed) and calls the handler. */
  Route route(EndpointContext ctx) {
    List<String> segments = Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
    return match(ctx, segments, 0, List.of());
  }

  private Route match(EndpointContext ctx, List<String> segments, int i, List<String> params) {
    if (i == segments.size()) {
      return pathEndOrSingleSlash(() -> Directives.method(HttpMethods.lookup(method).orElseThrow(), () -> checked(ctx, params)));
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

  /** The handler's route when every path id is well-formed, else 400 naming the first malformed one. */
  private Route checked(EndpointContext ctx, List<String> params) {
    List<String> names = parameters(path);
    for (int i = 0; i < names.size(); i++) {
      Optional<String> malformed = malformed(names.get(i), params.get(i));
      if (malformed.isPresent()) {
        return complete(ctx.error(StatusCodes.BAD_REQUEST, malformed.get(), Optional.of(names.get(i))));
      }
    }
    return handler.handle(ctx, params);
  }

  /** Why {@code value} is not a well-formed id for the path parameter {@code name}; empty when it is. */
  static Optional<String> malformed(String name, String value) {
    try {
      PATH_IDS.get(name).accept(value);
      return Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.of(e.getMessage());
    }
  }
}
