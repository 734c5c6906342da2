package io.ferry.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The graph spec's JSON Schema (docs/graph-spec.schema.json) and the Java records stay in step:
 * every example spec in the repository validates, every operator kind the records know is in the
 * schema, graphs written by Jackson validate, and broken specs are refused.
 */
class GraphSpecSchemaTest {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.USE_LONG_FOR_INTS).build();

  static Schema schema() throws IOException {
    return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
        .getSchema(Files.readString(ROOT.resolve("docs/graph-spec.schema.json")));
  }

  /** Every JSON spec under examples/ (SQL files compile to graphs that SqlExamplesTest checks). */
  static List<Path> exampleSpecs() throws IOException {
    try (Stream<Path> s = Files.walk(ROOT.resolve("examples"))) {
      return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }

  @Test
  void everyExampleSpecValidatesAndCompiles() throws IOException {
    Schema schema = schema();
    List<Path> specs = exampleSpecs();
    assertFalse(specs.isEmpty(), "no example specs found under " + ROOT.resolve("examples"));
    for (Path p : specs) {
      String text = Files.readString(p);
      assertEquals(List.of(), schema.validate(text, InputFormat.JSON).stream().map(Object::toString).toList(), p.toString());
      QueryGraph g = JSON.readValue(text, QueryGraph.class);
      assertFalse(g.compile().isEmpty(), p.toString());
    }
  }

  @Test
  void everyOperatorKindIsInTheSchema() throws IOException {
    JsonNode root = JSON.readTree(Files.readString(ROOT.resolve("docs/graph-spec.schema.json")));
    Set<String> inSchema = new TreeSet<>();
    for (JsonNode alt : root.path("$defs").path("op").path("oneOf")) {
      inSchema.add(alt.path("properties").path("kind").path("const").asText());
    }
    Set<String> inJava = new TreeSet<>();
    for (JsonSubTypes.Type t : OperatorSpec.class.getAnnotation(JsonSubTypes.class).value()) {
      inJava.add(t.name());
    }
    assertEquals(inJava, inSchema);
  }

  @Test
  void graphsWrittenByJacksonValidateAndReadBackEqual() throws IOException {
    Schema schema = schema();
    for (QueryGraph g : SpecSamples.all()) {
      String text = JSON.writeValueAsString(g);
      assertEquals(List.of(), schema.validate(text, InputFormat.JSON).stream().map(Object::toString).toList(), text);
      assertTrue(text.contains("\"version\":" + QueryGraph.SPEC_VERSION), text);
      assertEquals(g, JSON.readValue(text, QueryGraph.class));
    }
  }

  @Test
  void brokenSpecsAreRefusedByTheSchema() throws IOException {
    Schema schema = schema();
    String good = Files.readString(ROOT.resolve("examples/demo.json"));
    List<String> bad = new ArrayList<>();
    bad.add(good.replace("\"version\": 1", "\"version\": 2"));
    bad.add(good.replace("\"kind\": \"filter\"", "\"kind\": \"filtr\""));
    bad.add(good.replace("\"sizeMs\": 1000", "\"sizeMs\": 0"));
    bad.add(good.replace("\"fn\": \"COUNT\"", "\"fn\": \"MEDIAN\""));
    bad.add(good.replace("\"id\": \"src-a\"", "\"id\": \"src a\""));
    bad.add(good.replace("\"inputs\": []", "\"inputs\": [], \"extra\": 1"));
    for (String b : bad) {
      assertFalse(b.equals(good), "a replacement did not apply");
      assertFalse(schema.validate(b, InputFormat.JSON).isEmpty(), b);
    }
  }

  @Test
  void anotherVersionIsRefusedByTheReader() {
    String spec = "{\"version\": 2, \"id\": \"q\", \"nodes\": []}";
    Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> JSON.readValue(spec, QueryGraph.class));
    assertTrue(String.valueOf(e.getMessage()).contains("version 2 is not supported"), e.getMessage());
  }
}
