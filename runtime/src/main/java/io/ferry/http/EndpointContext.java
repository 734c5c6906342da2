package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import io.ferry.api.Ferry;
import io.ferry.api.FerryException;
import io.ferry.console.ConsoleSnapshots;
import io.ferry.runtime.MemberSettings;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every resource's handlers share: the member's {@link Ferry} API and settings, request
 * bodies bound through {@link RequestBodies}, and the answers: JSON bodies, and for every 4xx and
 * 5xx the one error shape, {@link ErrorBody}.
 */
public final class EndpointContext {
  private static final Logger log = LoggerFactory.getLogger(ManagementServer.class);

  private final ActorSystem<?> system;
  private final Ferry ferry;
  private final MemberSettings member;
  private final ManagementServer.Settings settings;
  private final HttpSecurity security;
  private static final ObjectMapper JSON = JsonMapper.builder().addModule(new Jdk8Module()).build();
  private final ConsoleSnapshots console;
  private final AtomicInteger consoleClients = new AtomicInteger();

  EndpointContext(ActorSystem<?> system, Ferry ferry, MemberSettings member, ManagementServer.Settings settings, HttpSecurity security) {
    this.system = system;
    this.ferry = ferry;
    this.member = member;
    this.settings = settings;
    this.security = security;
    this.console = new ConsoleSnapshots(system, ferry, ConsoleSnapshots.Settings.from(system.settings().config()));
  }

  /** The web console's snapshots: one source per endpoint, however many consoles watch. */
  ConsoleSnapshots console() {
    return console;
  }

  /** Consoles streaming from this endpoint now. */
  AtomicInteger consoleClients() {
    return consoleClients;
  }

  ActorSystem<?> system() {
    return system;
  }

  Ferry ferry() {
    return ferry;
  }

  MemberSettings member() {
    return member;
  }

  ManagementServer.Settings settings() {
    return settings;
  }

  HttpSecurity security() {
    return security;
  }

  /**
   * Reads the request body (at most {@code ferry.http.request-bytes-max}) as {@code type} and
   * answers with {@code call}; a body that cannot be bound is answered 400 naming the field.
   */
  <T extends Record> Route body(Class<T> type, String what, String example, Function<T, CompletionStage<HttpResponse>> call) {
    return withSizeLimit(
        settings.requestBytesMax(),
        () ->
            entity(
                Unmarshaller.entityToString(),
                text -> {
                  T request;
                  try {
                    request = RequestBodies.read(text, type, what, example);
                  } catch (BadRequest e) {
                    return completeWithFuture(done(error(StatusCodes.BAD_REQUEST, e.getMessage(), e.field())));
                  }
                  return completeWithFuture(call.apply(request));
                }));
  }

  /**
   * Turns an API call into an answer: {@code ok} on success, {@code refused} with the reason when
   * the cluster refuses ({@link FerryException}), 504 when it does not answer in time, 500 else.
   */
  <T> CompletionStage<HttpResponse> answer(CompletionStage<T> call, Function<T, HttpResponse> ok, StatusCode refused) {
    return call.handle(
        (value, failure) -> {
          if (failure == null) {
            return ok.apply(value);
          }
          Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
          if (cause instanceof FerryException) {
            return error(refused, cause.getMessage());
          }
          if (cause instanceof TimeoutException) {
            return error(StatusCodes.GATEWAY_TIMEOUT, "the cluster did not answer in time: " + cause.getMessage());
          }
          return unexpected(cause);
        });
  }

  HttpResponse unexpected(Throwable e) {
    log.warn("management endpoint request failed (member={} site={})", Cluster.get(system).selfMember().address(), member.site(), e);
    return error(StatusCodes.INTERNAL_SERVER_ERROR, e.getClass().getSimpleName() + ": " + e.getMessage());
  }

  HttpResponse tooLarge() {
    return error(StatusCodes.PAYLOAD_TOO_LARGE, "request body larger than " + settings.requestBytesMax() + " bytes (ferry.http.request-bytes-max)");
  }

  HttpResponse json(StatusCode status, Object body) {
    return jsonAnswer(status, body);
  }

  /** {@code body} as JSON; static for the answers given outside any route (the server's request timeout). */
  static HttpResponse jsonAnswer(StatusCode status, Object body) {
    try {
      return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      return HttpResponse.create()
          .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
          .withEntity(ContentTypes.APPLICATION_JSON, ("{\"error\":\"could not write the answer as JSON\"}"));
    }
  }

  HttpResponse error(StatusCode status, String message) {
    return error(status, message, Optional.empty());
  }

  HttpResponse error(StatusCode status, String message, Optional<String> field) {
    return json(status, new ErrorBody(message, field));
  }

  static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }
}
