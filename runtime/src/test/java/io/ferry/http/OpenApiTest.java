package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * openapi.yaml and the routes served agree: every endpoint the route classes declare (the list the
 * routing is built from) is documented with its path parameters, and every documented operation
 * is served, and each route documents exactly the statuses it declares it can answer.
 */
class OpenApiTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options");
  private static final Pattern PARAM = Pattern.compile("\\{([^}]+)}");

  /** "GET /path" for each operation of the document, with a problem line for each undeclared path parameter. */
  static List<String> documented(JsonNode doc, List<String> problems) {
    List<String> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> paths = doc.path("paths").fields(); paths.hasNext(); ) {
      Map.Entry<String, JsonNode> path = paths.next();
      for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
        Map.Entry<String, JsonNode> op = ops.next();
        if (!METHODS.contains(op.getKey())) {
          continue;
        }
        out.add(op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey());
        Set<String> declared = new TreeSet<>();
        op.getValue().path("parameters").forEach(p -> {
          if ("path".equals(p.path("in").asText())) {
            declared.add(p.path("name").asText());
          }
        });
        Set<String> inTemplate = new TreeSet<>();
        Matcher m = PARAM.matcher(path.getKey());
        while (m.find()) {
          inTemplate.add(m.group(1));
        }
        if (!declared.equals(inTemplate)) {
          problems.add(op.getKey() + " " + path.getKey() + " declares path parameters " + declared + ", its path has " + inTemplate);
        }
      }
    }
    return out;
  }

  /** What differs between the served and the documented operations; empty when they agree. */
  static List<String> differences(List<String> served, List<String> documented) {
    List<String> out = new ArrayList<>();
    new TreeSet<>(served).stream().filter(s -> !documented.contains(s)).forEach(s -> out.add("served, not documented: " + s));
    new TreeSet<>(documented).stream().filter(d -> !served.contains(d)).forEach(d -> out.add("documented, not served: " + d));
    return out;
  }

  /** "GET /path" → the statuses the document lists for it. */
  static Map<String, Set<Integer>> documentedStatuses(JsonNode doc) {
    Map<String, Set<Integer>> out = new TreeMap<>();
    doc.path("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(op -> {
      if (METHODS.contains(op.getKey())) {
        Set<Integer> codes = new TreeSet<>();
        op.getValue().path("responses").fieldNames().forEachRemaining(c -> codes.add(Integer.parseInt(c)));
        out.put(op.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey(), codes);
      }
    }));
    return out;
  }

  /** Statuses a route answers that its documentation leaves out, and documented ones it never answers. */
  static List<String> statusDifferences(Map<String, Set<Integer>> served, Map<String, Set<Integer>> documented) {
    List<String> out = new ArrayList<>();
    new TreeMap<>(served).forEach((route, codes) -> {
      Set<Integer> doc = documented.getOrDefault(route, Set.of());
      new TreeSet<>(codes).stream().filter(c -> !doc.contains(c)).forEach(c -> out.add(route + " answers " + c + ", not documented"));
      new TreeSet<>(doc).stream().filter(c -> !codes.contains(c)).forEach(c -> out.add(route + " documents " + c + ", never answers it"));
    });
    return out;
  }

  static Map<String, Set<Integer>> servedStatuses() {
    Map<String, Set<Integer>> out = new TreeMap<>();
    ManagementServer.ENDPOINTS.forEach(e -> out.put(e.method() + " " + e.path(), e.statuses()));
    return out;
  }

  static List<String> served() {
    return ManagementServer.ENDPOINTS.stream().map(e -> e.method() + " " + e.path()).toList();
  }

  @Test
  void everyRouteServedIsDocumentedAndEveryDocumentedRouteIsServed() throws Exception {
    JsonNode doc = YAML.readTree(OpenApiRoutes.document());
    assertTrue(doc.path("openapi").asText().startsWith("3."), "an OpenAPI 3 document: " + doc.path("openapi"));
    List<String> problems = new ArrayList<>();
    List<String> documented = documented(doc, problems);
    problems.addAll(differences(served(), documented));
    assertEquals(List.of(), problems);
    assertEquals(served().size(), new TreeSet<>(served()).size(), "no route is declared twice: " + served());
    assertTrue(served().contains("GET /queries/{query}/status"), served()::toString);
  }

  @Test
  void everyErrorAnswerUsesTheOneErrorShape() throws Exception {
    JsonNode doc = YAML.readTree(OpenApiRoutes.document());
    List<String> wrong = new ArrayList<>();
    doc.path("components").path("responses").fields().forEachRemaining(r -> {
      String schema = r.getValue().path("content").path("application/json").path("schema").path("$ref").asText();
      if (!schema.equals("#/components/schemas/ErrorBody")) {
        wrong.add(r.getKey() + " → " + schema);
      }
    });
    doc.path("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(op -> op.getValue().path("responses").fields().forEachRemaining(r -> {
      if (r.getKey().startsWith("4") || r.getKey().startsWith("5")) {
        if (!r.getValue().path("$ref").asText().startsWith("#/components/responses/")) {
          wrong.add(op.getKey() + " " + p.getKey() + " " + r.getKey() + " does not use a shared error response");
        }
      }
    })));
    assertEquals(List.of(), wrong);
    assertEquals(List.of("error"), List.of(doc.path("components").path("schemas").path("ErrorBody").path("required").get(0).asText()));
  }

  @Test
  void everyRouteDocumentsTheStatusesItAnswers() throws Exception {
    JsonNode doc = YAML.readTree(OpenApiRoutes.document());
    assertEquals(List.of(), statusDifferences(servedStatuses(), documentedStatuses(doc)));
    // The cluster calls can time out and fail unexpectedly; a path id can be malformed.
    assertTrue(servedStatuses().get("GET /migrations").containsAll(Set.of(500, 504)), servedStatuses()::toString);
    assertTrue(servedStatuses().get("GET /queries/{query}/status").contains(400), servedStatuses()::toString);
  }

  @Test
  void theStatusComparisonFindsAStatusMissingFromEitherSide() throws Exception {
    JsonNode doc = YAML.readTree("openapi: 3.0.3\npaths:\n  /volumes:\n    get:\n      responses:\n        \"200\": {}\n        \"409\": {}\n");
    assertEquals(
        List.of("GET /volumes answers 504, not documented", "GET /volumes documents 409, never answers it"),
        statusDifferences(Map.of("GET /volumes", Set.of(200, 504)), documentedStatuses(doc)));
  }

  /** The comparison must see a route that is missing from either side, or it checks nothing. */
  @Test
  void theComparisonFindsARouteMissingFromEitherSide() throws Exception {
    JsonNode doc =
        YAML.readTree(
            "openapi: 3.0.3\npaths:\n  /health:\n    get: {}\n  /ghost/{id}:\n    delete:\n      parameters:\n        - {name: other, in: path}\n");
    List<String> problems = new ArrayList<>();
    List<String> documented = documented(doc, problems);
    problems.addAll(differences(List.of("GET /health", "GET /queries"), documented));
    assertEquals(
        List.of(
            "delete /ghost/{id} declares path parameters [other], its path has [id]",
            "served, not documented: GET /queries",
            "documented, not served: DELETE /ghost/{id}"),
        problems);
  }
}
