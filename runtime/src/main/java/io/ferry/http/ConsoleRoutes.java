package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeOK;

import io.ferry.console.ConsoleSnapshots;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The web console: {@code GET /} and its two assets (hand-written, from the classpath, nothing
 * fetched from elsewhere, so it works on an air-gapped site), and {@code GET /events}, a stream of
 * whole-cluster snapshots as server-sent events, one per {@code ferry.console.interval}, to at most
 * {@code ferry.console.clients-max} consoles at once. docs/console.md describes what it shows.
 */
final class ConsoleRoutes {
  private ConsoleRoutes() {}

  /** Only this endpoint's own scripts, styles and connections: the page loads nothing from elsewhere. */
  private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

  private static final byte[] INDEX = resource("console/index.html");
  private static final byte[] SCRIPT = resource("console/console.js");
  private static final byte[] STYLE = resource("console/console.css");

  static final List<Endpoint> ENDPOINTS =
      List.of(
          Endpoint.get("/", (ctx, p) -> complete(asset(ContentTypes.TEXT_HTML_UTF8, INDEX)), 200),
          Endpoint.get("/console/console.js", (ctx, p) -> complete(asset(MediaTypes.APPLICATION_JAVASCRIPT.toContentType(HttpCharsets.UTF_8), SCRIPT)), 200),
          Endpoint.get("/console/console.css", (ctx, p) -> complete(asset(MediaTypes.TEXT_CSS.toContentType(HttpCharsets.UTF_8), STYLE)), 200),
          Endpoint.get("/events", ConsoleRoutes::events, 200, 503));

  private static HttpResponse asset(ContentType type, byte[] body) {
    return HttpResponse.create()
        .withStatus(StatusCodes.OK)
        .withEntity(type, body)
        .addHeader(RawHeader.create("Content-Security-Policy", CSP))
        .addHeader(RawHeader.create("Cache-Control", "no-cache"));
  }

  /**
   * One snapshot per interval while the console listens. Ticks a slow console cannot take are
   * dropped, not queued; the count of open streams goes down when a stream ends either way.
   */
  private static Route events(EndpointContext ctx, List<String> params) {
    ConsoleSnapshots snapshots = ctx.console();
    AtomicInteger clients = ctx.consoleClients();
    int max = snapshots.settings().clientsMax();
    if (clients.get() >= max) {
      return complete(ctx.error(StatusCodes.SERVICE_UNAVAILABLE, "this member already streams to " + max + " consoles (ferry.console.clients-max); close one or use another member's console"));
    }
    Source<ServerSentEvent, NotUsed> events =
        Source.tick(java.time.Duration.ZERO, snapshots.settings().interval(), "tick")
            .mapAsync(1, t -> snapshots.latest().handle((json, e) -> e == null ? ServerSentEvent.create(json, "snapshot") : ServerSentEvent.create(failure(e), "failure")))
            // Counted once the stream runs, not when asked for: a stream that never starts then never
            // holds a place; two consoles asking at the same moment may pass the limit by one.
            .watchTermination(
                (cancellable, done) -> {
                  clients.incrementAndGet();
                  done.whenComplete((d, e) -> clients.decrementAndGet());
                  return NotUsed.getInstance();
                });
    return completeOK(events, EventStreamMarshalling.toEventStream());
  }

  /** A "failure" event's data: the one error shape, {@link ErrorBody}, as JSON. */
  private static String failure(Throwable e) {
    Throwable c = e.getCause() != null ? e.getCause() : e;
    HttpResponse answer = EndpointContext.jsonAnswer(StatusCodes.INTERNAL_SERVER_ERROR, new ErrorBody(c.getClass().getSimpleName() + ": " + c.getMessage(), Optional.empty()));
    return ((HttpEntity.Strict) answer.entity()).getData().utf8String();
  }

  private static byte[] resource(String name) {
    try (InputStream in = ConsoleRoutes.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the console's " + name + " is missing from the runtime jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
