package io.ferry.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.OAuth2BearerToken;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Access control of the management endpoint: HTTPS from a keystore, bearer tokens checked
 * against {@link Tokens} and {@link AccessRules}, every guarded request recorded in the {@link
 * AuditLog}. A refused request (401 without a valid token, 403 with too small a role) is answered
 * before any route runs, so it changes nothing.
 */
public final class HttpSecurity {
  private static final int AUDIT_PATH_CHARS_MAX = 200;

  /**
   * The {@code ferry.security.http} section.
   *
   * @param keystore PKCS12 keystore with the endpoint's key and certificate; empty serves plain HTTP
   * @param auth whether requests need a bearer token
   */
  public record Settings(Optional<Path> keystore, String keystorePassword, boolean auth, List<Tokens.Grant> tokens, int auditEntriesMax) {
    public Settings {
      tokens = List.copyOf(tokens);
      if (auth && tokens.isEmpty()) {
        throw new IllegalArgumentException(
            "ferry.security.http.auth = on needs at least one entry in ferry.security.http.tokens (ferry token --name NAME --role ROLE prints one)");
      }
      keystore.ifPresent(
          k -> {
            if (!Files.isReadable(k)) {
              throw new IllegalArgumentException("ferry.security.http.keystore = " + k + " is not a readable file (scripts/dev-ca makes one)");
            }
          });
    }

    public static Settings off() {
      return new Settings(Optional.empty(), "", false, List.of(), 1000);
    }

    public boolean https() {
      return keystore.isPresent();
    }

    public static Settings from(Config config) {
      String p = "ferry.security.http.";
      try {
        List<Tokens.Grant> grants = new ArrayList<>();
        for (Config t : config.getConfigList(p + "tokens")) {
          grants.add(new Tokens.Grant(t.getString("name"), t.getString("sha256"), Role.parse(t.getString("role"))));
        }
        String keystore = config.getString(p + "keystore");
        return new Settings(
            keystore.isEmpty() ? Optional.empty() : Optional.of(Path.of(keystore)),
            config.getString(p + "keystore-password"),
            config.getBoolean(p + "auth"),
            grants,
            config.getInt(p + "audit-entries-max"));
      } catch (ConfigException e) {
        throw new IllegalArgumentException("invalid management endpoint security configuration: " + e.getMessage(), e);
      }
    }
  }

  private final Settings settings;
  private final Tokens tokens;
  private final AuditLog audit;

  public HttpSecurity(Settings settings) {
    this.settings = settings;
    this.tokens = new Tokens(settings.tokens());
    this.audit = new AuditLog(settings.auditEntriesMax());
  }

  public Settings settings() {
    return settings;
  }

  public AuditLog audit() {
    return audit;
  }

  /** The server side TLS context from the keystore; the keystore's one key is the endpoint's. */
  SSLContext serverContext() {
    Path path = settings.keystore().orElseThrow();
    char[] password = settings.keystorePassword().toCharArray();
    try (InputStream in = Files.newInputStream(path)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, password);
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot read ferry.security.http.keystore = " + path + " (PKCS12, password ferry.security.http.keystore-password): " + e.getMessage(), e);
    }
  }

  /**
   * {@code inner} behind the token check: public routes pass untouched; any other request needs a
   * token whose role allows it, and is audited with the status it got.
   */
  Route guard(EndpointContext ctx, Supplier<Route> inner) {
    return extractRequest(
        request -> {
          String method = request.method().name();
          List<String> segments = new ArrayList<>();
          request.getUri().pathSegments().forEach(segments::add);
          Optional<Role> needed = AccessRules.required(method, segments);
          if (needed.isEmpty()) {
            return inner.get();
          }
          String path = printable(request.getUri().path());
          if (!settings.auth()) {
            return mapResponse(r -> audited(r, "anonymous", "-", method, path, "allowed"), inner);
          }
          Optional<Tokens.Grant> grant = bearer(request).flatMap(tokens::lookup);
          if (grant.isEmpty()) {
            HttpResponse refused =
                ctx.error(StatusCodes.UNAUTHORIZED, method + " " + path + " needs a bearer token with role " + needed.get().label()
                        + " or higher (Authorization: Bearer <token>; the CLI reads FERRY_TOKEN or --token-file)")
                    .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "ferry")));
            return complete(audited(refused, "anonymous", "-", method, path, "unauthenticated"));
          }
          Tokens.Grant g = grant.get();
          if (!g.role().allows(needed.get())) {
            HttpResponse refused =
                ctx.error(StatusCodes.FORBIDDEN, "token '" + g.name() + "' has role " + g.role().label() + "; " + method + " " + path + " needs "
                    + needed.get().label());
            return complete(audited(refused, g.name(), g.role().label(), method, path, "forbidden"));
          }
          return mapResponse(r -> audited(r, g.name(), g.role().label(), method, path, "allowed"), inner);
        });
  }

  private HttpResponse audited(HttpResponse response, String who, String role, String method, String path, String outcome) {
    audit.record(new AuditLog.Entry(System.currentTimeMillis(), who, role, method, path, outcome, response.status().intValue()));
    return response;
  }

  private static Optional<String> bearer(HttpRequest request) {
    Optional<String> header =
        request.getHeader(Authorization.class).flatMap(a -> a.credentials() instanceof OAuth2BearerToken t ? Optional.of(t.token()) : Optional.empty());
    if (header.isPresent()) {
      return header;
    }
    // A browser's EventSource cannot send headers, so the console's event stream (and only it)
    // carries its token as a query parameter; the audit log records the path without the query.
    if (request.method().name().equals("GET") && request.getUri().path().equals(EVENTS_PATH)) {
      return request.getUri().query().get(EVENTS_TOKEN_PARAMETER);
    }
    return Optional.empty();
  }

  static final String EVENTS_PATH = "/events";
  static final String EVENTS_TOKEN_PARAMETER = "access_token";

  /** The path as the log shows it: bounded, and no control characters to forge log lines with. */
  static String printable(String path) {
    StringBuilder b = new StringBuilder(Math.min(path.length(), AUDIT_PATH_CHARS_MAX) + 1);
    for (int i = 0; i < path.length() && b.length() < AUDIT_PATH_CHARS_MAX; i++) {
      char c = path.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    if (path.length() > AUDIT_PATH_CHARS_MAX) {
      b.append('…');
    }
    return b.toString();
  }
}
