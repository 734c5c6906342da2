package io.ferry.http;

import java.util.LinkedHashMap;
import io.ferry.query.QueryGraph;
import io.ferry.api.Placement;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.ferry.api.Ferry;
import io.ferry.blocks.VolumeId;
import io.ferry.blocks.VolumeSpec;
import io.ferry.api.FerryException;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import io.ferry.query.NodeSpec;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryException;
import io.ferry.query.QueryId;
import io.ferry.api.NodeStatus;
import io.ferry.api.QueryInfo;
import io.ferry.runtime.MemberSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's management endpoint: JSON over HTTP for deployed queries, node status, migrations
 * and health, served through the member's {@link Ferry} API. {@code FerryNode.start} starts one
 * on every member when {@code ferry.http.enabled} is on; the {@code ferry status} and {@code ferry
 * migrate} commands talk to it.
 *
 * <pre>
 * GET  /health                  {"member", "site", "tier", "status"}
 * GET  /queries                 [{"query", "deploymentId", "nodes": [{"node", "op", "site", "member"}]}]
 * GET  /queries/{q}/status      [{"node", "address", "outputAnchor", "inputAnchors", "retainedRows", "done", "pausedBy"}]; 404 unknown query
 * POST /migrations              {"query", "nodes": [...], "to"} → 200 the report when the move has ended; 409 refused; 400 malformed
 * GET  /migrations              [report, ...] oldest first
 * GET  /migrations/{id}         report; 404 unknown id
 * </pre>
 *
 * Every error is {@code {"error": "..."}}; a call the cluster does not answer within the API's
 * timeout gets 504.
 */
public final class ManagementServer extends AllDirectives implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ManagementServer.class);
  private static final Set<String> INSTRUCTION_FIELDS = Set.of("query", "nodes", "to");
  private static final String INSTRUCTION_EXAMPLE = "{\"query\":\"q\",\"nodes\":[\"window-a\"],\"to\":\"cloud\"}";
  /** Operator class → its JSON kind, from the one place kinds are named: OperatorSpec's annotation. */
  private static final Map<Class<?>, String> OP_KINDS = opKinds();
  /** Answers reach the client this long after the API's own timeout at most. */
  private static final Duration TIMEOUT_MARGIN = Duration.ofSeconds(5);

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

  /** The body of every error response. */
  public record ErrorBody(String error) {}

  public record Health(String member, String site, String tier, String status) {}

  public record QueryView(String query, String deploymentId, List<NodeView> nodes) {}

  /** @param member the member address, null while the node is not placed yet */
  public record NodeView(String node, String op, String site, String member) {}

  /** @param pausedBy the migration that holds the node paused, null when it runs */
  public record NodeStatusView(
      String node, String address, long outputAnchor, Map<String, Long> inputAnchors, long retainedRows, boolean done, String pausedBy) {}

  private final ActorSystem<?> system;
  private final Ferry ferry;
  private final long blockSizeDefault;
  private final MemberSettings member;
  private final Settings settings;
  private final ObjectMapper json = JsonMapper.builder().addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module()).build();
  /** Reads query graphs: integers in filter literals are Longs, as Ferry's field types are. */
  private final ObjectMapper graphJson = JsonMapper.builder().enable(DeserializationFeature.USE_LONG_FOR_INTS).build();
  private volatile ServerBinding binding;

  private ManagementServer(ActorSystem<?> system, Ferry ferry, MemberSettings member, Settings settings) {
    this.system = system;
    this.ferry = ferry;
    this.blockSizeDefault = system.settings().config().getBytes("ferry.blocks.block-size");
    this.member = member;
    this.settings = settings;
  }

  /**
   * Binds the endpoint and waits until it listens; fails with a message naming {@code
   * ferry.http.port} when the port cannot be bound (taken, or not allowed).
   */
  public static ManagementServer start(ActorSystem<?> system, Ferry ferry, MemberSettings member, Settings settings) {
    ManagementServer server = new ManagementServer(system, ferry, member, settings);
    String where = settings.host() + ":" + settings.port();
    try {
      server.binding =
          Http.get(system)
              .newServerAt(settings.host(), settings.port())
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
    log.info("management endpoint at {} (member={} site={})", server.url(), Cluster.get(system).selfMember().address(), member.site());
    return server;
  }

  /** The port the endpoint listens on (the bound one, when {@code ferry.http.port} is 0). */
  public int port() {
    return binding.localAddress().getPort();
  }

  public String url() {
    return "http://" + settings.host() + ":" + port();
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
    long idleMillis = migrationRequestTimeout().plus(TIMEOUT_MARGIN).toMillis();
    Config base = system.settings().config();
    long configuredIdle = base.getDuration("pekko.http.server.idle-timeout", TimeUnit.MILLISECONDS);
    Config timeouts =
        ConfigFactory.parseString(
            "pekko.http.server.request-timeout = " + requestMillis + "ms\n"
                + "pekko.http.server.idle-timeout = " + Math.max(idleMillis, configuredIdle) + "ms");
    return ServerSettings.create(timeouts.withFallback(base));
  }

  private Duration migrationRequestTimeout() {
    return ferry.migrationTimeout().plus(TIMEOUT_MARGIN);
  }

  Route routes() {
    RejectionHandler rejections = RejectionHandler.defaultHandler().mapRejectionResponse(this::asJsonError);
    ExceptionHandler exceptions =
        ExceptionHandler.newBuilder()
            .match(EntityStreamSizeException.class, e -> complete(tooLarge()))
            .match(Exception.class, e -> complete(unexpected(e)))
            .build();
    return handleExceptions(
        exceptions,
        () ->
            handleRejections(
                rejections,
                () ->
                    concat(
                        path("health", () -> get(() -> complete(json(StatusCodes.OK, health())))),
                        pathPrefix(
                            "queries",
                            () ->
                                concat(
                                    pathEndOrSingleSlash(
                                        () ->
                                            concat(
                                                get(() -> completeWithFuture(queries())),
                                                post(
                                                    () ->
                                                        withSizeLimit(
                                                            settings.requestBytesMax(),
                                                            () -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(deploy(body))))))),
                                    path(PathMatchers.segment().slash("status"), q -> get(() -> completeWithFuture(status(q)))))),
                        pathPrefix(
                            "migrations",
                            () ->
                                concat(
                                    pathEndOrSingleSlash(
                                        () ->
                                            concat(
                                                get(() -> completeWithFuture(migrations())),
                                                post(
                                                    () ->
                                                        withRequestTimeout(
                                                            migrationRequestTimeout(),
                                                            () ->
                                                                withSizeLimit(
                                                                    settings.requestBytesMax(),
                                                                    () -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(migrate(body)))))))),
                                    path(PathMatchers.segment(), id -> get(() -> completeWithFuture(migration(id)))))),
                        pathPrefix(
                            "volumes",
                            () ->
                                concat(
                                    pathEndOrSingleSlash(
                                        () ->
                                            concat(
                                                get(() -> completeWithFuture(volumes())),
                                                post(
                                                    () ->
                                                        withSizeLimit(
                                                            settings.requestBytesMax(),
                                                            () -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(startVolume(body))))))),
                                    path(PathMatchers.segment().slash("stop"), v -> post(() -> completeWithFuture(stopVolume(v)))),
                                    path(PathMatchers.segment(), v -> get(() -> completeWithFuture(volumeStatus(v)))))))));
  }

  // ---- volumes

  /** A running volume migration as the endpoint lists it. */
  record VolumeView(String volume, String sourceSite, String sourcePath, String targetSite, int blockSizeBytes, String traceFile, String backendMember, String frontendMember) {}

  private CompletionStage<HttpResponse> volumes() {
    return answer(
        ferry.volumes(),
        all ->
            json(
                StatusCodes.OK,
                all.stream()
                    .map(v -> new VolumeView(v.spec().volume().value(), v.spec().sourceSite(), v.spec().sourcePath(), v.spec().targetSite(), v.spec().blockSizeBytes(), v.spec().traceFile(), v.backendMember(), v.frontendMember()))
                    .toList()),
        StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private CompletionStage<HttpResponse> startVolume(String body) {
    VolumeSpec spec;
    try {
      spec = parseVolume(body);
    } catch (IllegalArgumentException e) {
      return done(error(StatusCodes.BAD_REQUEST, e.getMessage()));
    }
    return answer(ferry.startVolume(spec), a -> json(StatusCodes.CREATED, a), StatusCodes.CONFLICT);
  }

  private CompletionStage<HttpResponse> stopVolume(String volume) {
    return withVolume(volume, id -> answer(ferry.stopVolume(id), a -> json(StatusCodes.OK, a), StatusCodes.NOT_FOUND));
  }

  private CompletionStage<HttpResponse> volumeStatus(String volume) {
    return withVolume(volume, id -> answer(ferry.volumeStatus(id), st -> json(StatusCodes.OK, st), StatusCodes.NOT_FOUND));
  }

  /** 400 for a malformed volume id in the path, else {@code call}. */
  private CompletionStage<HttpResponse> withVolume(String volume, Function<VolumeId, CompletionStage<HttpResponse>> call) {
    VolumeId id;
    try {
      id = new VolumeId(volume);
    } catch (IllegalArgumentException e) {
      return done(error(StatusCodes.BAD_REQUEST, e.getMessage()));
    }
    return call.apply(id);
  }

  static final String VOLUME_EXAMPLE =
      "{\"volume\": \"vm-1\", \"sourceSite\": \"edge-a\", \"sourcePath\": \"/images/vm-1.img\", \"targetSite\": \"cloud\", \"blockSize\": 65536, \"trace\": \"/traces/boot.trace\"}";
  private static final Set<String> VOLUME_FIELDS = Set.of("volume", "sourceSite", "sourcePath", "targetSite", "blockSize", "trace");

  /** Reads a volume migration request, naming the field that is wrong; unknown fields are refused. */
  VolumeSpec parseVolume(String body) {
    JsonNode root = readObject(body, VOLUME_EXAMPLE, VOLUME_FIELDS, "a volume migration has " + new java.util.TreeSet<>(VOLUME_FIELDS));
    String volume = text(root, "volume", "the volume id (also its NBD export name)");
    String sourceSite = text(root, "sourceSite", "the site that holds the source image");
    String sourcePath = text(root, "sourcePath", "the source image's path at the source site");
    String targetSite = text(root, "targetSite", "the site to migrate the volume to");
    long blockSize = blockSizeDefault;
    JsonNode bs = root.get("blockSize");
    if (bs != null && !bs.isNull()) {
      if (!bs.canConvertToLong()) {
        throw new IllegalArgumentException("field 'blockSize' must be a number of bytes, got " + bs);
      }
      blockSize = bs.asLong();
    }
    JsonNode trace = root.get("trace");
    if (trace != null && !trace.isNull() && !trace.isTextual()) {
      throw new IllegalArgumentException("field 'trace' must be a path (string), got " + trace);
    }
    return new VolumeSpec(new VolumeId(volume), sourceSite, sourcePath, targetSite, VolumeSpec.checkBlockSize(blockSize), trace == null || trace.isNull() ? "" : trace.asText());
  }

  // ---- routes

  private Health health() {
    var self = Cluster.get(system).selfMember();
    return new Health(self.address().toString(), member.site(), member.tier(), self.status().toString());
  }

  private CompletionStage<HttpResponse> queries() {
    return answer(
        ferry.queries(),
        all -> {
          List<QueryView> out = new ArrayList<>();
          for (QueryInfo q : all) {
            List<NodeView> nodes = new ArrayList<>();
            for (NodeSpec n : q.nodes()) {
              String id = n.id().value();
              nodes.add(new NodeView(id, OP_KINDS.getOrDefault(n.op().getClass(), n.op().getClass().getSimpleName()), q.sites().get(id), q.members().get(id)));
            }
            out.add(new QueryView(q.query().value(), q.deploymentId(), nodes));
          }
          return json(StatusCodes.OK, out);
        },
        StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private CompletionStage<HttpResponse> status(String query) {
    QueryId id;
    try {
      id = new QueryId(query);
    } catch (QueryException | IllegalArgumentException e) {
      return done(error(StatusCodes.NOT_FOUND, "query '" + query + "' is not deployed: " + e.getMessage()));
    }
    return answer(
        ferry.status(id),
        all -> {
          List<NodeStatusView> out = new ArrayList<>();
          for (NodeStatus s : all) {
            out.add(new NodeStatusView(
                s.node().value(), s.address(), s.outputAnchor(), s.inputAnchors(), s.retainedRows(), s.done(), s.pausedBy().orElse(null)));
          }
          return json(StatusCodes.OK, out);
        },
        StatusCodes.NOT_FOUND);
  }

  /**
   * Deploys {@code {"graph": <query graph>, "placement": {"node": "site", ...}}}; the graph is the
   * JSON form of {@link QueryGraph} (what {@code ferry submit} sends). 201 with the members each
   * node runs on, 409 when the cluster refuses it, 400 when the body cannot be read.
   */
  private CompletionStage<HttpResponse> deploy(String body) {
    QueryGraph graph;
    Placement placement;
    try {
      JsonNode root = graphJson.readTree(body);
      if (root == null || !root.isObject() || !root.has("graph") || !root.has("placement")) {
        throw new IllegalArgumentException("the request body must be {\"graph\": ..., \"placement\": {\"node\": \"site\"}}");
      }
      graph = graphJson.treeToValue(root.get("graph"), QueryGraph.class);
      Map<String, String> sites = new LinkedHashMap<>();
      root.get("placement").fields().forEachRemaining(e -> sites.put(e.getKey(), e.getValue().asText()));
      placement = new Placement(sites);
    } catch (JsonProcessingException e) {
      return done(error(StatusCodes.BAD_REQUEST, "cannot read the query: " + e.getOriginalMessage()));
    } catch (RuntimeException e) {
      return done(error(StatusCodes.BAD_REQUEST, "cannot read the query: " + e.getMessage()));
    }
    return answer(ferry.deploy(graph, placement), d -> json(StatusCodes.CREATED, d), StatusCodes.CONFLICT);
  }

  private CompletionStage<HttpResponse> migrate(String body) {
    MigrationInstruction instruction;
    try {
      instruction = parseInstruction(body);
    } catch (IllegalArgumentException e) {
      return done(error(StatusCodes.BAD_REQUEST, e.getMessage()));
    }
    return answer(ferry.migrate(instruction), report -> json(StatusCodes.OK, report), StatusCodes.CONFLICT);
  }

  private CompletionStage<HttpResponse> migrations() {
    return answer(ferry.migrations(), all -> json(StatusCodes.OK, all), StatusCodes.INTERNAL_SERVER_ERROR);
  }

  private CompletionStage<HttpResponse> migration(String id) {
    return answer(
        ferry.migrations(),
        all -> {
          for (MigrationReport r : all) {
            if (r.id().equals(id)) {
              return json(StatusCodes.OK, r);
            }
          }
          return error(StatusCodes.NOT_FOUND, "no migration '" + id + "' (the registry keeps the running and the last finished ones)");
        },
        StatusCodes.INTERNAL_SERVER_ERROR);
  }

  /**
   * Reads a migration instruction, naming the field that is wrong. Unknown fields are refused so
   * a misspelt {@code to} is not silently ignored.
   */
  MigrationInstruction parseInstruction(String body) {
    if (body.isBlank()) {
      throw new IllegalArgumentException("the request body must be a migration instruction like " + INSTRUCTION_EXAMPLE);
    }
    JsonNode root = readObject(body, INSTRUCTION_EXAMPLE, INSTRUCTION_FIELDS, "a migration instruction has query, nodes and to");
    String query = text(root, "query", "the query to move nodes of");
    String to = text(root, "to", "the site to move the nodes to");
    JsonNode nodes = root.get("nodes");
    if (nodes == null || nodes.isNull()) {
      throw new IllegalArgumentException("field 'nodes' is missing: list the node ids to move, e.g. [\"window-a\"]");
    }
    if (!nodes.isArray() || nodes.isEmpty()) {
      throw new IllegalArgumentException("field 'nodes' must be a non-empty array of node ids, got " + nodes);
    }
    List<String> ids = new ArrayList<>();
    for (JsonNode n : nodes) {
      if (!n.isTextual() || n.asText().isBlank()) {
        throw new IllegalArgumentException("field 'nodes' must hold node ids (strings), got " + n);
      }
      ids.add(n.asText());
    }
    return new MigrationInstruction(query, ids, to);
  }

  /**
   * Reads a request body that must be a JSON object with only {@code fields}, saying where the
   * JSON is malformed and naming an unknown field ({@code fieldsHint} lists the known ones).
   */
  private JsonNode readObject(String body, String example, Set<String> fields, String fieldsHint) {
    JsonNode root;
    try {
      root = json.readTree(body);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "malformed JSON at line " + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr() + ": "
              + e.getOriginalMessage() + "; expected " + example);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("the request body must be a JSON object like " + example);
    }
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!fields.contains(name)) {
        throw new IllegalArgumentException("unknown field '" + name + "'; " + fieldsHint);
      }
    }
    return root;
  }

  private static String text(JsonNode root, String field, String what) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("field '" + field + "' is missing: name " + what);
    }
    if (!v.isTextual() || v.asText().isBlank()) {
      throw new IllegalArgumentException("field '" + field + "' must be a non-empty string (" + what + "), got " + v);
    }
    return v.asText();
  }

  // ---- responses

  /**
   * Turns an API call into a response: {@code ok} on success, {@code refused} with the reason when
   * the cluster refuses ({@link FerryException}), 504 when it does not answer in time, 500 else.
   */
  private <T> CompletionStage<HttpResponse> answer(CompletionStage<T> call, Function<T, HttpResponse> ok, StatusCode refused) {
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

  private HttpResponse unexpected(Throwable e) {
    log.warn("management endpoint request failed (member={} site={})", Cluster.get(system).selfMember().address(), member.site(), e);
    return error(StatusCodes.INTERNAL_SERVER_ERROR, e.getClass().getSimpleName() + ": " + e.getMessage());
  }

  private HttpResponse tooLarge() {
    return error(
        StatusCodes.PAYLOAD_TOO_LARGE, "request body larger than " + settings.requestBytesMax() + " bytes (ferry.http.request-bytes-max)");
  }

  private HttpResponse json(StatusCode status, Object body) {
    try {
      return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      return HttpResponse.create()
          .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
          .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "could not write the answer as JSON: " + e.getOriginalMessage());
    }
  }

  private HttpResponse error(StatusCode status, String message) {
    return json(status, new ErrorBody(message));
  }

  /** Pekko's own rejections (404 no route, 405 wrong method, 413 too large) answer in JSON too. */
  private HttpResponse asJsonError(HttpResponse response) {
    if (response.status().equals(StatusCodes.PAYLOAD_TOO_LARGE)) {
      return tooLarge();
    }
    String text = response.entity() instanceof HttpEntity.Strict strict ? strict.getData().utf8String() : response.status().reason();
    HttpResponse body = error(response.status(), text);
    return body.withHeaders(response.getHeaders());
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  private static Map<Class<?>, String> opKinds() {
    Map<Class<?>, String> kinds = new HashMap<>();
    for (JsonSubTypes.Type t : OperatorSpec.class.getAnnotation(JsonSubTypes.class).value()) {
      kinds.put(t.value(), t.name());
    }
    return Map.copyOf(kinds);
  }
}
