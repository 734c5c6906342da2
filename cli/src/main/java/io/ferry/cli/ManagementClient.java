package io.ferry.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.ferry.placement.MigrationInstruction;
import io.ferry.placement.MigrationReport;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * The {@code ferry status} and {@code ferry migrate} commands: a client of a member's management
 * endpoint ({@code io.ferry.http.ManagementServer}). {@link Main} parses the arguments.
 */
final class ManagementClient {

  static final String DEFAULT_URL = "http://127.0.0.1:8558";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** Reads answer within the member's API timeout (10 s by default); this leaves it room. */
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
  /** The member bounds a migration by four step timeouts (60 s by default); this leaves it room. */
  private static final Duration MIGRATE_TIMEOUT = Duration.ofMinutes(5);
  private static final String MEMBER_PREFIX = "pekko://ferry@";

  /** A failure already explained to the user; the command exits 1. */
  static final class Failed extends Exception {
    Failed(String message) {
      super(message);
    }
  }

  private final URI base;
  private final PrintStream out;
  private final PrintStream err;
  private final HttpClient http;
  private final Optional<String> token;
  private final ObjectMapper json = JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  ManagementClient(String url, PrintStream out, PrintStream err) {
    this(url, out, err, Optional.empty(), Optional.empty());
  }

  /** With a bearer token for a secured endpoint, and the TLS context that trusts its certificate (https URLs). */
  ManagementClient(String url, PrintStream out, PrintStream err, Optional<String> token, Optional<SSLContext> tls) {
    this.base = baseUri(url);
    this.out = out;
    this.err = err;
    this.token = token;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT);
    tls.ifPresent(b::sslContext);
    this.http = b.build();
  }

  /** Checks {@code --url}: an http(s) URL with a host, such as http://127.0.0.1:8558. */
  static URI baseUri(String url) {
    URI uri;
    try {
      uri = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--url must be a URL like " + DEFAULT_URL + ", got '" + url + "': " + e.getMessage());
    }
    if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
      throw new IllegalArgumentException("--url must be an http:// URL with a host, like " + DEFAULT_URL + ", got '" + url + "'");
    }
    return uri;
  }

  /**
   * Prints every deployed query's nodes: operator, site, member, output anchor and state, and
   * what the placement manager measured (rows/s in, backlog, state entries); then the members'
   * journal write time and the links between sites.
   */
  int status() throws Failed {
    JsonNode queries = ok(send(HttpRequest.newBuilder(at("/queries")).timeout(READ_TIMEOUT).GET().build()), "listing queries");
    JsonNode measured = measurements();
    Map<String, JsonNode> measuredNodes = new HashMap<>();
    measured.path("nodes").forEach(n -> measuredNodes.put(n.path("query").asText() + "/" + n.path("node").asText(), n));
    if (queries.isEmpty()) {
      out.println("no queries deployed (asked " + base + ")");
      members(measured);
      return 0;
    }
    boolean complete = true;
    for (JsonNode q : queries) {
      String query = q.path("query").asText();
      JsonNode engine = q.path("engine");
      // A member of an older build lists no engine: say nothing rather than guess.
      String engineText = engine.isObject()
          ? "  engine " + engine.path("name").asText() + " (" + engine.path("chosen").asText() + ": " + engine.path("reason").asText() + ")"
          : "";
      out.println("query " + query + "  deployment " + q.path("deploymentId").asText() + engineText);
      Map<String, JsonNode> status = new HashMap<>();
      HttpResponse<String> r = send(HttpRequest.newBuilder(at("/queries/" + query + "/status")).timeout(READ_TIMEOUT).GET().build());
      if (r.statusCode() == 200) {
        for (JsonNode s : parse(r)) {
          status.put(s.path("node").asText(), s);
        }
      } else {
        complete = false;
        err.println("ferry: no status for query " + query + " (HTTP " + r.statusCode() + "): " + errorOf(r));
      }
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"NODE", "OPERATOR", "SITE", "MEMBER", "OUTPUT", "STATE", "IN ROWS/S", "BACKLOG", "STATE ENTRIES"});
      for (JsonNode n : q.path("nodes")) {
        String node = n.path("node").asText();
        JsonNode s = status.get(node);
        rows.add(new String[] {
          node,
          n.path("op").asText(),
          n.path("site").asText(),
          n.path("member").isTextual() ? shortMember(n.path("member").asText()) : "(not placed)",
          s == null ? "?" : s.path("outputAnchor").asText(),
          s == null ? "?" : state(s),
          number(measuredNodes.get(query + "/" + node), "inRowsPerSec", "%.0f"),
          number(measuredNodes.get(query + "/" + node), "backlogRows", "%.0f"),
          number(measuredNodes.get(query + "/" + node), "stateEntries", "%.0f")
        });
      }
      printTable(rows);
    }
    members(measured);
    links();
    return complete ? 0 : 1;
  }

  /** The placement manager's measurements, empty when this build or member has none. */
  private JsonNode measurements() throws Failed {
    HttpResponse<String> r = send(HttpRequest.newBuilder(at("/measurements")).timeout(READ_TIMEOUT).GET().build());
    return r.statusCode() == 200 ? parse(r) : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  private static String number(JsonNode n, String field, String format) {
    return n == null || !n.path(field).isNumber() ? "-" : String.format(java.util.Locale.ROOT, format, n.path(field).asDouble());
  }

  /** Members with their CPU and mean journal write time, when the manager has measured them. */
  private void members(JsonNode measured) {
    if (measured.path("members").isEmpty()) {
      return;
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"MEMBER", "SITE", "CPU %", "JOURNAL WRITE MS"});
    for (JsonNode m : measured.path("members")) {
      rows.add(new String[] {shortMember(m.path("address").asText()), m.path("site").asText(),
          m.path("cpu").isNumber() ? String.format(java.util.Locale.ROOT, "%.0f", 100 * m.path("cpu").asDouble()) : "-",
          number(m, "journalWriteMs", "%.1f")});
    }
    printTable(rows);
  }

  /** Prints the placement manager's decisions, one {@code decision ...} line each, oldest first. */
  int decisions() throws Failed {
    HttpResponse<String> r = send(HttpRequest.newBuilder(at("/decisions")).timeout(READ_TIMEOUT).GET().build());
    if (r.statusCode() == 404) {
      err.println("ferry: this member has no placement manager (GET /decisions answered 404)");
      return 1;
    }
    JsonNode all = ok(r, "listing decisions").path("decisions");
    if (all.isEmpty()) {
      out.println("no placement decisions yet (asked " + base + ")");
    }
    for (JsonNode d : all) {
      out.println("decision " + d.path("kind").asText() + " query=" + d.path("query").asText() + " node="
          + (d.path("node").isTextual() ? d.path("node").asText() : "*") + " " + d.path("from").asText() + " -> " + d.path("to").asText()
          + ": " + d.path("reason").asText());
    }
    return 0;
  }

  /** Sets the placement mode of the cluster ({@code query} null) or of one query; 1 when refused. */
  int placementMode(String query, String mode) throws Failed {
    Map<String, String> body = new java.util.LinkedHashMap<>();
    if (query != null) {
      body.put("query", query);
    }
    body.put("mode", mode);
    return placementChange("/placement/mode", body, "setting the placement mode",
        "placement mode of " + (query == null ? "the cluster" : "query " + query) + ": " + (mode.equals("default") ? "the cluster's" : mode));
  }

  /** Lifts a user's pin of {@code node}; 1 when it was not pinned. */
  int unpin(String query, String node) throws Failed {
    return placementChange("/placement/unpin", Map.of("query", query, "node", node), "unpinning",
        "unpinned " + node + " of query " + query + ": the placement manager may move it again");
  }

  private int placementChange(String path, Map<String, String> request, String doing, String done) throws Failed {
    String body;
    try {
      body = json.writeValueAsString(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not write the request as JSON", e);
    }
    HttpResponse<String> r = send(postJson(path, body, READ_TIMEOUT));
    if (r.statusCode() == 409 || r.statusCode() == 400) {
      err.println("ferry: " + doing + " refused: " + errorOf(r));
      return 1;
    }
    if (r.statusCode() == 404) {
      err.println("ferry: this member has no placement manager routes (POST " + path + " answered 404)");
      return 1;
    }
    ok(r, doing);
    out.println(done);
    return 0;
  }

  /** Asks the cluster's planner for a plan of {@code body} (a spec) and prints it: as JSON, or a site and reason per node. */
  int plan(String body, boolean json) throws Failed {
    HttpResponse<String> r = send(postJson("/plans", body, READ_TIMEOUT));
    if (r.statusCode() == 409 || r.statusCode() == 400) {
      err.println("ferry: no plan: " + errorOf(r));
      return 1;
    }
    JsonNode p = ok(r, "planning");
    if (json) {
      out.println(p.toPrettyString());
    } else {
      out.printf(java.util.Locale.ROOT, "plan of %s (%s): WAN %.0f B/s, latency %.0f ms, cost %.3g per s%s%n", p.path("query").asText(),
          p.path("method").asText(), p.path("wanBytesPerSec").asDouble(), p.path("latencyMs").asDouble(), p.path("costPerSecond").asDouble(),
          p.path("violations").isEmpty() ? "" : ", DOES NOT FIT: " + p.path("violations"));
      p.path("reasons").fields().forEachRemaining(e -> out.println("  " + e.getValue().asText()));
    }
    return p.path("violations").isEmpty() ? 0 : 1;
  }

  /** Prints the links between sites (RTT measured by the members), or nothing when this build has none. */
  void links() throws Failed {
    HttpResponse<String> r = send(HttpRequest.newBuilder(at("/links")).timeout(READ_TIMEOUT).GET().build());
    if (r.statusCode() != 200) {
      return;
    }
    JsonNode links = parse(r).path("links");
    if (links.isEmpty()) {
      return;
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"LINK", "RTT MS", "IN USE B/S", "CAPACITY B/S", "LOSS"});
    for (JsonNode l : links) {
      rows.add(new String[] {
        l.path("from").asText() + " <-> " + l.path("to").asText(),
        l.path("rttMs").asDouble() < 0 ? "-" : String.format(java.util.Locale.ROOT, "%.1f", l.path("rttMs").asDouble()),
        number(l, "bandwidthBytesPerSec", "%.0f"),
        number(l, "capacityBytesPerSec", "%.0f"),
        number(l, "lossRatio", "%.4f")
      });
    }
    printTable(rows);
  }

  private HttpRequest postJson(String path, String body, Duration timeout) {
    return HttpRequest.newBuilder(at(path))
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
        .build();
  }

  /** Deploys {@code body} ({"graph": ..., "placement": ...}) and prints where each node runs. */
  int submit(String body) throws Failed {
    HttpResponse<String> r = send(postJson("/queries", body, READ_TIMEOUT));
    if (r.statusCode() == 409 || r.statusCode() == 400) {
      err.println("ferry: query refused: " + errorOf(r));
      return 1;
    }
    JsonNode d = ok(r, "deploying the query");
    out.println("deployed query " + d.path("query").asText() + " (deployment " + d.path("deploymentId").asText() + ")");
    d.path("members").fields().forEachRemaining(e -> out.printf("  %-10s on %s%n", e.getKey(), e.getValue().asText()));
    return 0;
  }

  /** Posts the instruction, waits for the move to end and prints its steps; 0 only when COMPLETED. */
  int migrate(MigrationInstruction instruction) throws Failed {
    String body;
    try {
      body = json.writeValueAsString(Map.of("query", instruction.query(), "nodes", instruction.nodes(), "to", instruction.toSite()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not write the instruction as JSON", e);
    }
    HttpResponse<String> r = send(postJson("/migrations", body, MIGRATE_TIMEOUT));
    if (r.statusCode() == 409) {
      err.println("ferry: migration refused: " + errorOf(r));
      return 1;
    }
    MigrationReport report;
    try {
      report = json.treeToValue(ok(r, "migrating"), MigrationReport.class);
    } catch (JsonProcessingException e) {
      throw new Failed("the member at " + base + " answered with a report this client cannot read: " + e.getOriginalMessage());
    }
    out.println(
        "migration " + report.id() + ": " + report.nodes().stream().map(Object::toString).collect(java.util.stream.Collectors.joining(", ")) + " of query " + report.query() + " from " + report.from()
            + " to " + report.to() + ": " + report.outcome() + " in " + report.pauseMillis() + " ms");
    int width = report.steps().stream().mapToInt(s -> s.name().label().length()).max().orElse(0);
    for (MigrationReport.Step s : report.steps()) {
      out.printf("  %-" + width + "s %6d ms  %s%n", s.name(), s.durationMillis(), s.detail());
    }
    out.println("sites now: " + report.sites());
    if (report.outcome() == MigrationReport.Outcome.COMPLETED) {
      return 0;
    }
    err.println("ferry: migration " + report.id() + " " + report.outcome() + (report.reason().isEmpty() ? "" : ": " + report.reason()));
    return 1;
  }

  /** Rescales a keyed node, waits for the rescale to end and prints its figures; 0 only when COMPLETED. */
  int rescale(String query, String node, int parallelism) throws Failed {
    String path = "/queries/" + new io.ferry.query.QueryId(query).value() + "/nodes/" + new io.ferry.query.NodeId(node).value() + "/rescale";
    HttpResponse<String> r = send(postJson(path, "{\"parallelism\":" + parallelism + "}", MIGRATE_TIMEOUT));
    if (r.statusCode() == 409 || r.statusCode() == 400) {
      err.println("ferry: rescale refused: " + errorOf(r));
      return 1;
    }
    if (r.statusCode() == 404) {
      err.println("ferry: this member cannot rescale (POST " + path + " answered 404)");
      return 1;
    }
    JsonNode rep = ok(r, "rescaling");
    out.println("rescale " + rep.path("id").asText() + ": node " + rep.path("node").asText() + " of query " + rep.path("query").asText()
        + " from " + rep.path("from").asInt() + " to " + rep.path("to").asInt() + " instances: " + rep.path("outcome").asText()
        + " in " + rep.path("totalMillis").asLong() + " ms, upstream paused " + rep.path("pauseMillis").asLong() + " ms, "
        + rep.path("groupsMoved").asInt() + " key groups and " + rep.path("entries").asInt() + " window entries regrouped at anchor "
        + rep.path("anchor").asLong());
    if ("COMPLETED".equals(rep.path("outcome").asText())) {
      return 0;
    }
    err.println("ferry: rescale " + rep.path("outcome").asText() + ": " + rep.path("reason").asText());
    return 1;
  }

  /** Starts a volume migration; prints where its halves run and how to read the export. */
  int volumeStart(Map<String, Object> request) throws Failed {
    String body;
    try {
      body = json.writeValueAsString(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not write the request as JSON", e);
    }
    HttpResponse<String> r = send(postJson("/volumes", body, READ_TIMEOUT));
    if (r.statusCode() == 409 || r.statusCode() == 400) {
      err.println("ferry: volume migration refused: " + errorOf(r));
      return 1;
    }
    JsonNode a = ok(r, "starting the volume migration");
    out.println("volume " + a.path("volume").asText() + " migrating: backend on " + shortMember(a.path("backendMember").asText())
        + ", frontend on " + shortMember(a.path("frontendMember").asText()));
    out.println("its export appears in `ferry volume status " + a.path("volume").asText() + "` as soon as the frontend attached");
    return 0;
  }

  /** Prints a volume migration's phase, progress, bytes by kind and NBD URL. */
  int volumeStatus(String volume) throws Failed {
    HttpResponse<String> r = send(HttpRequest.newBuilder(at("/volumes/" + volume)).timeout(READ_TIMEOUT).GET().build());
    if (r.statusCode() == 404 || r.statusCode() == 400) {
      err.println("ferry: " + errorOf(r));
      return 1;
    }
    JsonNode st = ok(r, "reading the volume's status");
    JsonNode f = st.path("frontend");
    JsonNode t = f.path("transfer");
    out.println("volume " + volume + "  " + st.path("phase").asText() + "  " + st.path("spec").path("sourceSite").asText() + ":" + st.path("spec").path("sourcePath").asText()
        + " -> " + st.path("spec").path("targetSite").asText());
    out.println("  export    " + st.path("nbdUrl").asText());
    out.println("  frontend  " + shortMember(st.path("frontendMember").asText()) + "   backend " + shortMember(st.path("backendMember").asText()));
    if (f.isObject()) {
      out.printf("  progress  %.1f%% (%d/%d blocks of %d bytes)%n", f.path("percent").asDouble(), f.path("blocksPresent").asLong(), f.path("blockCount").asLong(), f.path("blockSizeBytes").asLong());
      if (t.isObject()) {
        out.println("  transfer  " + t);
      }
      out.println("  on-demand blocks fetched " + f.path("onDemandBlocksFetched").asLong() + ", duplicates " + f.path("duplicateBlocks").asLong()
          + ", corrupt frames " + f.path("corruptFrames").asLong() + ", local writes " + f.path("localWrites").asLong());
      if (!f.path("unavailable").asText().isEmpty()) {
        out.println("  cannot serve: " + f.path("unavailable").asText());
      }
    }
    JsonNode mirror = st.path("mirror");
    if (mirror.isObject()) {
      out.println("  mirror    " + (mirror.path("member").asText().isEmpty() ? "-" : shortMember(mirror.path("member").asText())) + "   " + mirror.path("state").asText()
          + " (" + mirror.path("mirroredBlocks").asLong() + "/" + mirror.path("presentBlocks").asLong() + " blocks, " + mirror.path("mirroredWrites").asLong() + " writes held by both"
          + (mirror.path("unmirroredWrites").asLong() > 0 ? ", " + mirror.path("unmirroredWrites").asLong() + " on one copy" : "")
          + (mirror.path("failedWrites").asLong() > 0 ? ", " + mirror.path("failedWrites").asLong() + " failed waiting for a mirror" : "") + ")");
    }
    JsonNode pc = st.path("preCopy");
    if (pc.isObject()) {
      String url = pc.path("sourceNbdUrl").asText();
      long pause = pc.path("pauseMillis").asLong(-1);
      out.println("  pre-copy  " + pc.path("phase").asText() + ", " + pc.path("mode").asText().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
          + (url.isEmpty() ? "" : ", the workload writes at " + url) + ", change set now " + pc.path("changedBlocksNow").asLong() + " blocks"
          + (pause >= 0 ? ", cut-over pause " + pause + " ms" : "") + ", writes acknowledged " + pc.path("writesAcknowledged").asLong()
          + " (mirrored " + pc.path("writesMirrored").asLong() + ", refused " + pc.path("writesRefused").asLong() + ")");
      for (JsonNode p : pc.path("passes")) {
        int n = p.path("pass").asInt();
        out.println("    pass " + n + ": " + (n == 0 ? "the background copy" : p.path("changedBlocks").asLong() + " blocks") + " in " + p.path("millis").asLong() + " ms"
            + (p.path("writeBlocking").asBoolean() ? ", write-blocking" : "") + (p.path("writesHeld").asBoolean() ? ", writes held (the pause)" : ""));
      }
      for (String field : List.of("writeBlockingReason", "recopy", "error")) {
        if (!pc.path(field).asText().isEmpty()) {
          out.println("    " + field + ": " + pc.path(field).asText());
        }
      }
    }
    JsonNode c = st.path("changes");
    if (c.isObject()) {
      out.println("  primary   " + c.path("primary").asText() + (c.path("sourceDetachable").asBoolean() ? " (backend released: the source can be detached)" : "")
          + "   write policy " + c.path("writePolicy").asText());
      out.println("  changes   " + c.path("pendingBlocks").asLong() + " blocks the source lacks (oldest " + c.path("oldestPendingAgeMillis").asLong() + " ms), "
          + c.path("shippedBlocks").asLong() + " shipped in " + c.path("shipments").asLong() + " shipments"
          + (c.path("pass").asInt() > 0 ? ", pass " + c.path("pass").asInt() + " (previous shipped " + c.path("lastPassBlocks").asLong() + ")" : "")
          + (c.path("writesHeld").asBoolean() ? ", writes held (write-blocking)" : ""));
    }
    if (!st.path("error").asText().isEmpty()) {
      err.println("ferry: backend error: " + st.path("error").asText());
      return 1;
    }
    return 0;
  }

  /**
   * Asks a volume migration to {@code verb} (cutover, pause, resume, abort, reverse, policy) and
   * prints the phase after it; 1 with the reason when the phase does not allow it.
   */
  int volumeControl(String volume, String verb, String body) throws Failed {
    HttpResponse<String> r = send(postJson("/volumes/" + volume + "/" + verb, body, READ_TIMEOUT));
    if (r.statusCode() == 409 || r.statusCode() == 404 || r.statusCode() == 400) {
      err.println("ferry: " + errorOf(r));
      return 1;
    }
    JsonNode a = ok(r, verb + " of volume " + volume);
    String message = a.path("message").asText();
    out.println("volume " + volume + " " + a.path("action").asText() + ": " + a.path("phase").asText() + (message.isEmpty() ? "" : " (" + message + ")"));
    return 0;
  }

  int volumeStop(String volume) throws Failed {
    HttpResponse<String> r = send(postJson("/volumes/" + volume + "/stop", "", READ_TIMEOUT));
    if (r.statusCode() == 404 || r.statusCode() == 400) {
      err.println("ferry: " + errorOf(r));
      return 1;
    }
    ok(r, "stopping the volume migration");
    out.println("volume " + volume + " migration stopped; the blocks copied so far stay in the target's store");
    return 0;
  }

  // ---- HTTP

  private URI at(String path) {
    return URI.create(base + path);
  }

  private HttpResponse<String> send(HttpRequest request) throws Failed {
    HttpRequest withToken =
        token.isEmpty() ? request : HttpRequest.newBuilder(request, (name, value) -> true).header("Authorization", "Bearer " + token.get()).build();
    try {
      return http.send(withToken, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new Failed("no Ferry member answers at " + base + ": is a cluster running? (start one with ./ferry demo --hold)");
    } catch (HttpTimeoutException e) {
      throw new Failed("the member at " + base + " did not answer " + request.method() + " " + request.uri().getPath() + " within "
          + request.timeout().map(Duration::toSeconds).orElse(0L) + " s");
    } catch (javax.net.ssl.SSLHandshakeException e) {
      throw new Failed("could not talk to " + base + " over TLS (" + e.getMessage() + "): if the member's certificate is not trusted, set"
          + " FERRY_TRUSTSTORE or --truststore to the truststore of the CA that signed it (scripts/dev-ca's DIR/truststore.p12)");
    } catch (IOException e) {
      if ("http".equals(base.getScheme()) && String.valueOf(e.getMessage()).contains("received no bytes")) {
        // What a member serving HTTPS only answers to plain HTTP: it closes the connection.
        throw new Failed("no HTTP answer from " + base + ": a member with ferry.security.http.keystore set serves HTTPS only; use an https:// URL");
      }
      throw new Failed("could not talk to " + base + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failed("interrupted while waiting for " + base);
    }
  }

  /** The JSON of a 200 answer; any other status fails with the member's own error message. */
  private JsonNode ok(HttpResponse<String> r, String doing) throws Failed {
    if (r.statusCode() / 100 != 2) {
      throw new Failed(doing + " failed (HTTP " + r.statusCode() + " from " + base + "): " + errorOf(r));
    }
    return parse(r);
  }

  private JsonNode parse(HttpResponse<String> r) throws Failed {
    try {
      return json.readTree(r.body());
    } catch (JsonProcessingException e) {
      throw new Failed("the answer from " + base + " is not JSON (is this a Ferry member?): " + e.getOriginalMessage());
    }
  }

  private String errorOf(HttpResponse<String> r) {
    try {
      JsonNode e = json.readTree(r.body());
      if (e != null && e.path("error").isTextual()) {
        return e.path("error").asText();
      }
    } catch (JsonProcessingException e) {
      // not one of the endpoint's JSON errors: show the body as it is
    }
    return r.body();
  }

  // ---- formatting

  private static String state(JsonNode s) {
    if (s.path("pausedBy").isTextual()) {
      return "paused by " + s.path("pausedBy").asText();
    }
    return s.path("done").asBoolean() ? "done" : "running";
  }

  private static String shortMember(String address) {
    return address.startsWith(MEMBER_PREFIX) ? address.substring(MEMBER_PREFIX.length()) : address;
  }

  private void printTable(List<String[]> rows) {
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder(" ");
      for (int i = 0; i < row.length; i++) {
        line.append(' ').append(row[i]).append(" ".repeat(widths[i] - row[i].length() + 1));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
