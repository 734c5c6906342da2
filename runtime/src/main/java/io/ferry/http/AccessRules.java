package io.ferry.http;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The one table of who may call what on the management endpoint: method + path template → the
 * least {@link Role} it needs, or public. Every route class's paths are listed here (other
 * resources append their lines); a request no line matches needs {@code read} for GET/HEAD and
 * {@code admin} for anything else, so a mutating route nobody mapped is closed rather than open.
 * Templates: {@code {x}} matches one path segment, a last segment {@code **} any rest (or none).
 */
public final class AccessRules {
  private AccessRules() {}

  /** One line of the table; {@code role} empty means public (no token needed). */
  public record Rule(String method, String path, Optional<Role> role) {
    public Rule {
      method = method.toUpperCase(Locale.ROOT);
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("a rule's path starts with '/', got '" + path + "'");
      }
    }

    boolean matches(String requestMethod, List<String> segments) {
      if (!method.equals(requestMethod)) {
        return false;
      }
      List<String> mine = segments(path);
      for (int i = 0; i < mine.size(); i++) {
        String s = mine.get(i);
        if (s.equals("**") && i == mine.size() - 1) {
          return true;
        }
        if (i >= segments.size() || !(s.startsWith("{") && s.endsWith("}") || s.equals(segments.get(i)))) {
          return false;
        }
      }
      return mine.size() == segments.size();
    }
  }

  static Rule open(String method, String path) {
    return new Rule(method, path, Optional.empty());
  }

  static Rule needs(Role role, String method, String path) {
    return new Rule(method, path, Optional.of(role));
  }

  /** The table. Order matters only where two lines match; the first wins. */
  public static final List<Rule> RULES =
      List.of(
          // Probes and the API's description carry nothing secret; a load balancer has no token.
          open("GET", "/health"),
          open("GET", "/openapi.yaml"),
          // The console's page and static files hold no data; its calls to the API carry the user's
          // token, and its event stream (a browser's EventSource cannot set headers) the access_token
          // query parameter HttpSecurity takes on that one route.
          open("GET", "/"),
          open("GET", "/console/console.js"),
          open("GET", "/console/console.css"),
          needs(Role.READ, "GET", "/events"),
          needs(Role.READ, "GET", "/metrics"),
          needs(Role.READ, "GET", "/queries"),
          needs(Role.READ, "GET", "/queries/{query}/status"),
          needs(Role.READ, "GET", "/migrations"),
          needs(Role.READ, "GET", "/migrations/{id}"),
          needs(Role.READ, "GET", "/volumes"),
          needs(Role.READ, "GET", "/volumes/{volume}"),
          needs(Role.READ, "GET", "/jobs"),
          needs(Role.READ, "GET", "/jobs/{job}"),
          needs(Role.READ, "GET", "/decisions"),
          needs(Role.READ, "GET", "/links"),
          needs(Role.READ, "GET", "/measurements"),
          needs(Role.OPERATE, "POST", "/migrations"),
          needs(Role.OPERATE, "POST", "/volumes"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/stop"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/cutover"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/pause"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/resume"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/abort"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/reverse"),
          needs(Role.OPERATE, "POST", "/volumes/{volume}/policy"),
          needs(Role.OPERATE, "POST", "/jobs"),
          needs(Role.OPERATE, "POST", "/jobs/{job}/cancel"),
          needs(Role.OPERATE, "POST", "/plans"),
          needs(Role.OPERATE, "POST", "/placement/mode"),
          needs(Role.OPERATE, "POST", "/placement/unpin"),
          needs(Role.OPERATE, "POST", "/ingest/{source}"),
          needs(Role.ADMIN, "POST", "/queries"),
          needs(Role.ADMIN, "DELETE", "/queries/{query}"),
          needs(Role.ADMIN, "GET", "/audit"),
          needs(Role.READ, "GET", "/rescales"),
          needs(Role.OPERATE, "POST", "/queries/{query}/nodes/{node}/rescale"));

  /** The role {@code method path} needs; empty when it is public. */
  public static Optional<Role> required(String method, String path) {
    return required(RULES, method, path);
  }

  /**
   * The role a request needs, by its path's decoded segments as the routing sees them (an encoded
   * slash stays inside its segment, so {@code /console%2F..%2Faudit} is not under {@code /console}).
   */
  public static Optional<Role> required(String method, List<String> segments) {
    return required(RULES, method, segments);
  }

  static Optional<Role> required(List<Rule> rules, String method, String path) {
    return required(rules, method, segments(path));
  }

  static Optional<Role> required(List<Rule> rules, String method, List<String> pathSegments) {
    String m = method.toUpperCase(Locale.ROOT);
    List<String> segments = pathSegments.stream().filter(s -> !s.isEmpty()).toList();
    for (Rule r : rules) {
      if (r.matches(m, segments)) {
        return r.role();
      }
    }
    return Optional.of(m.equals("GET") || m.equals("HEAD") ? Role.READ : Role.ADMIN);
  }

  private static List<String> segments(String path) {
    return Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
  }
}
