package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ferry.query.QueryException;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile graph specs: random structural mutations of examples/demo.json (a field dropped, a value
 * replaced by a hostile one, array elements duplicated or swapped) and text mutations (truncation,
 * a character changed), each at most {@link #SPEC_CHARS_MAX} long and sent as a deployment's
 * {@code graph}, are read by {@link RequestBodies} and compiled: every one becomes a compiled graph,
 * a {@link BadRequest} (a 400) or a {@link QueryException} (the deploy's refusal) — never another
 * exception and never a stack overflow. Seeded; replay with -Dferry.seed=N.
 */
@ExtendWith(SeedExtension.class)
class GraphSpecFuzzTest {
  private static final int ROUNDS = 4_000;
  private static final int SPEC_CHARS_MAX = 64 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private static final List<JsonNode> HOSTILE =
      List.of(
          F.nullNode(), F.numberNode(-1L), F.numberNode(0L), F.numberNode(Long.MAX_VALUE), F.numberNode(Long.MIN_VALUE),
          F.numberNode(1e300), F.numberNode(-0.5), F.textNode(""), F.textNode("x".repeat(5000)), F.textNode("../../etc/passwd"),
          F.textNode("\u0000"), F.booleanNode(true), F.objectNode(), F.arrayNode(), F.textNode("nope"), F.textNode("src-a"),
          F.textNode("out"), F.textNode("value"), F.textNode("COUNT"), F.textNode("GE"));

  @Test
  void mutatedGraphSpecsBecomeAGraphA400OrAQueryException(Seed seed) throws Exception {
    Random random = new Random(seed.value());
    String demo = Files.readString(Path.of(System.getProperty("user.dir")).getParent().resolve("examples/demo.json"));
    JsonNode valid = JSON.readTree(demo);
    int compiled = 0;
    int refused = 0;
    for (int round = 0; round < ROUNDS; round++) {
      String spec;
      if (random.nextInt(4) == 0) {
        spec = textMutation(demo, random);
      } else {
        JsonNode tree = valid.deepCopy();
        for (int m = 1 + random.nextInt(3); m > 0; m--) {
          mutate(tree, random);
        }
        spec = JSON.writeValueAsString(tree);
      }
      if (spec.length() > SPEC_CHARS_MAX) {
        spec = spec.substring(0, SPEC_CHARS_MAX);
      }
      String body = "{\"graph\":" + spec + ",\"placement\":{}}";
      try {
        QueryRoutes.DeployRequest request = RequestBodies.read(body, QueryRoutes.DeployRequest.class, "a deployment", "{}");
        request.graph().compile();
        compiled++;
      } catch (BadRequest | QueryException expected) {
        assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(), "a refusal says why");
        if (expected instanceof QueryException) {
          refused++;
        }
      } catch (RuntimeException | StackOverflowError e) {
        throw new AssertionError("round " + round + " seed " + seed.value() + ": " + e + "\n---\n" + spec, e);
      }
    }
    // Both outcomes are reached: the mutations get past the JSON reader into the graph's own checks.
    assertTrue(compiled > 0, "no mutated spec ever compiled");
    assertTrue(refused > 0, "no mutated spec reached the graph compiler's checks");
  }

  private static String textMutation(String spec, Random random) {
    StringBuilder s = new StringBuilder(spec);
    switch (random.nextInt(3)) {
      case 0 -> s.setLength(random.nextInt(s.length()));
      case 1 -> s.setCharAt(random.nextInt(s.length()), "{}[],:\"0-a \\".charAt(random.nextInt(12)));
      default -> s.deleteCharAt(random.nextInt(s.length()));
    }
    return s.toString();
  }

  /** Changes one randomly chosen container of {@code root}: drops, replaces, duplicates or swaps one of its children. */
  private static void mutate(JsonNode root, Random random) {
    List<JsonNode> containers = new ArrayList<>();
    collect(root, containers);
    JsonNode c = containers.get(random.nextInt(containers.size()));
    if (c instanceof ObjectNode o) {
      List<String> names = new ArrayList<>();
      o.fieldNames().forEachRemaining(names::add);
      if (names.isEmpty()) {
        o.set("kind", hostile(random));
        return;
      }
      String name = names.get(random.nextInt(names.size()));
      switch (random.nextInt(3)) {
        case 0 -> o.remove(name);
        case 1 -> o.set(name, hostile(random));
        default -> o.set(name, o.get(names.get(random.nextInt(names.size()))).deepCopy());
      }
    } else if (c instanceof ArrayNode a) {
      if (a.isEmpty()) {
        a.add(hostile(random));
        return;
      }
      int i = random.nextInt(a.size());
      switch (random.nextInt(4)) {
        case 0 -> a.remove(i);
        case 1 -> a.set(i, hostile(random));
        case 2 -> a.add(a.get(i).deepCopy());
        default -> {
          int j = random.nextInt(a.size());
          JsonNode t = a.get(i);
          a.set(i, a.get(j));
          a.set(j, t);
        }
      }
    }
  }

  /** A copy: the shared empty object and array must not grow by later mutations (nor into themselves). */
  private static JsonNode hostile(Random random) {
    return HOSTILE.get(random.nextInt(HOSTILE.size())).deepCopy();
  }

  private static void collect(JsonNode n, List<JsonNode> out) {
    if (n.isContainerNode()) {
      out.add(n);
      n.elements().forEachRemaining(e -> collect(e, out));
    }
  }
}
