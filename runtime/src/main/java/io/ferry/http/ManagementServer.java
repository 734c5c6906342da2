package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeoutResponse;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.runtime.MemberSettings;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's management endpoint: JSON over HTTP, one class per resource (health, queries,
 * migrations, volumes, metrics, the OpenAPI document), served through the member's {@link Ferry} API.
 * {@code FerryNode.start} starts one on every member when {@code ferry.http.enabled} is on; the
 * {@code ferry status} and {@code ferry migrate} commands talk to it. The routes and their answers
 * are described in {@code openapi.yaml} (served at {@code GET /openapi.yaml}) and in
 * docs/management-api.md; every 4xx and 5xx answer is an {@link ErrorBody}, and a call the cluster
 * does not answer within the API's timeout gets 504.
 */
public final class ManagementServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ManagementServer.class);
  /** Answers reach the client this long after the API's own timeout at most. */
  private static final Duration TIMEOUT_MARGIN = Duration.ofSeconds(5);

  /** Every route served, by resource; the routing is built from this list and the OpenAPI test reads it. */
  public static final List<Endpoint> ENDPOINTS =
      Stream.of(HealthRoutes.ENDPOINTS, QueryRoutes.ENDPOINTS, MigrationRoutes.ENDPOINTS, VolumeRoutes.ENDPOINTS, MetricsRoutes.ENDPOINTS, OpenApiRoutes.ENDPOINTS, ConsoleRoutes.ENDPOINTS, AuditRoutes.ENDPOINTS, IngestRoutes.ENDPOINTS, JobRoutes.ENDPOINTS, PlacementRoutes.ENDPOINTS, VolumeControlRoutes.ENDPOINTS, RescaleRoutes.ENDPOINTS)
          .flatMap(List::stream)
          .toList();

  /**
   * The {@code ferry.http} section, read once and checked.
   *
   * @param host interface to listen on (the member's host when {@code ferry.http.host} is empty)
   * @param port 0 for a free port
   */
  public record Settings(boolean enabled, String host, int port, long requestBytesMax, Duration bindTimeout) {
    private static final long REQUEST_BYTES_MIN = 1024;
    private static final long REQUEST_BYTES_MAX = 16L << 20;

    public Settings {
      if (host.isBlank()) {
        throw new IllegalArgumentException("ferry.http.host must name an interface, got '" + host + "'");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("ferry.http.port must be 0..65535 (0 picks a free port), got " + port);
      }
      if (requestBytesMax < REQUEST_BYTES_MIN || requestBytesMax > REQUEST_BYTES_MAX) {
        throw new IllegalArgumentException(
            "ferry.http.request-bytes-max must be between 1 KiB and 16 MiB, got " + requestBytesMax + " bytes");
      }
      if (bindTimeout.isZero() || bindTimeout.isNegative()) {
        throw new IllegalArgumentException("ferry.http.bind-timeout must be positive, got " + bindTimeout);
      }
    }

    /** Reads {@code ferry.http}; an empty host means the member's own ({@code ferry.member.host}). */
    public static Settings from(Config config, MemberSettings member) {
      String p = "ferry.http.";
      try {
        String host = config.getString(p + "host");
        return new Settings(
            config.getBoolean(p + "enabled"),
            host.isEmpty() ? member.host() : host,
            config.getInt(p + "port"),
            config.getBytes(p + "request-bytes-max"),
            config.getDuration(p + "bind-timeout"));
      } catch (ConfigException e) {
        throw new IllegalArgumentException("invalid management endpoint configuration: " + e.getMessage(), e);
      }
    }
  }

  private final ActorSystem<?> system;
  private final Ferry ferry;
  private final Settings settings;
  private final EndpointContext context;
  private final HttpSecurity security;
  private volatile ServerBinding binding;

  private ManagementServer(ActorSystem<?> system, Ferry ferry, MemberSettings member, Settings settings, HttpSecurity security) {
    this.system = system;
    this.ferry = ferry;
    this.settings = settings;
    this.security = security;
    this.context = new EndpointContext(system, ferry, member, settings, security);
  }

  /**
   * Binds the endpoint and waits until it listens; fails with a message naming {@code
   * ferry.http.port} when the port cannot be bound (taken, or not allowed). With a keystore in
   * {@code security} it serves HTTPS only.
   */
  public static ManagementServer start(ActorSystem<?> system, Ferry ferry, MemberSettings member, Settings settings, HttpSecurity security) {
    ManagementServer server = new ManagementServer(system, ferry, member, settings, security);
    String where = settings.host() + ":" + settings.port();
    ServerBuilder builder = Http.get(system).newServerAt(settings.host(), settings.port());
    if (security.settings().https()) {
      builder = builder.enableHttps(ConnectionContext.httpsServer(security.serverContext()));
    }
    try {
      server.binding =
          builder
              .withSettings(server.serverSettings())
              .bind(server.routes())
              .toCompletableFuture()
              .get(settings.bindTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(
          "management endpoint could not listen on " + where + " (ferry.http.port = " + settings.port() + "): " + cause.getMessage()
              + "; set ferry.http.port to a free port (0 picks one) or ferry.http.enabled = off", cause);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "management endpoint did not bind " + where + " within ferry.http.bind-timeout = " + settings.bindTimeout(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding the management endpoint at " + where, e);
    }
    log.info("management endpoint at {} (member={} site={} tokens={})", server.url(), Cluster.get(system).selfMember().address(), member.site(),
        security.settings().auth() ? "required" : "NOT required");
    return server;
  }

  /** The port the endpoint listens on (the bound one, when {@code ferry.http.port} is 0). */
  public int port() {
    return binding.localAddress().getPort();
  }

  public String url() {
    return (security.settings().https() ? "https://" : "http://") + settings.host() + ":" + port();
  }

  /** Stops listening; requests under way get up to the bind timeout to finish. */
  @Override
  public void close() {
    ServerBinding b = binding;
    if (b == null) {
      return;
    }
    binding = null;
    try {
      b.terminate(settings.bindTimeout()).toCompletableFuture().get(settings.bindTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // The member stops anyway; its ActorSystem closes whatever socket is left.
      log.warn("management endpoint at {} did not unbind cleanly: {}", settings.host() + ":" + b.localAddress().getPort(), e.toString());
    }
  }

  /**
   * Server timeouts derived from the API's: a request gets the API's ask timeout (a migration
   * gets its own, longer one per route), and a connection waiting on a migration is not idle.
   */
  private ServerSettings serverSettings() {
    long requestMillis = ferry.askTimeout().plus(TIMEOUT_MARGIN).toMillis();
    long idleMillis = migrationRequestTimeout(ferry).plus(TIMEOUT_MARGIN).toMillis();
    Config base = system.settings().config();
    long configuredIdle = base.getDuration("pekko.http.server.idle-timeout", TimeUnit.MILLISECONDS);
    Config timeouts =
        ConfigFactory.parseString(
            "pekko.http.server.request-timeout = " + requestMillis + "ms\n"
                + "pekko.http.server.idle-timeout = " + Math.max(idleMillis, configuredIdle) + "ms");
    return ServerSettings.create(timeouts.withFallback(base));
  }

  /** A migration's request waits for the move to end: the API's migration timeout and a margin. */
  static Duration migrationRequestTimeout(Ferry ferry) {
    return ferry.migrationTimeout().plus(TIMEOUT_MARGIN);
  }

  Route routes() {
    RejectionHandler rejections = RejectionHandler.defaultHandler().mapRejectionResponse(this::asJsonError);
    ExceptionHandler exceptions =
        ExceptionHandler.newBuilder()
            .match(EntityStreamSizeException.class, e -> complete(context.tooLarge()))
            .match(Exception.class, e -> complete(context.unexpected(e)))
            .build();
    List<Route> routes = ENDPOINTS.stream().map(e -> e.route(context)).toList();
    return timeoutsAnswer504(
        () ->
            security.guard(
                context,
                () ->
                    handleExceptions(
                        exceptions,
                        () -> handleRejections(rejections, () -> concat(routes.get(0), routes.subList(1, routes.size()).toArray(Route[]::new))))));
  }

  /**
   * A request the server's own timeout cuts off is answered 504 in the one error shape, not with
   * Pekko's default 503 text: the API calls end before it, so reaching it means the cluster did
   * not answer. The migration route's longer timeout keeps this answer.
   */
  static Route timeoutsAnswer504(Supplier<Route> inner) {
    return withRequestTimeoutResponse(
        request ->
            EndpointContext.jsonAnswer(
                StatusCodes.GATEWAY_TIMEOUT,
                new ErrorBody(
                    request.method().name() + " " + request.getUri().path()
                        + " got no answer within the request timeout (ferry.api.ask-timeout + " + TIMEOUT_MARGIN.toSeconds()
                        + " s; a migration: 4 x ferry.migration.step-timeout + " + TIMEOUT_MARGIN.toSeconds() + " s)",
                    Optional.empty())),
        inner);
  }

  /** Pekko's own rejections (404 no route, 405 wrong method, 413 too large) answer in the one error shape too. */
  private HttpResponse asJsonError(HttpResponse response) {
    if (response.status().equals(StatusCodes.PAYLOAD_TOO_LARGE)) {
      return context.tooLarge();
    }
    String text = response.entity() instanceof HttpEntity.Strict strict ? strict.getData().utf8String() : response.status().reason();
    return context.error(response.status(), text).withHeaders(response.getHeaders());
  }
}
