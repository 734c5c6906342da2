package io.ferry.http;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import io.ferry.api.Query;
import io.ferry.query.OperatorSpec;
import io.ferry.query.QueryGraph;
import io.ferry.testkit.seed.Seed;
import io.ferry.testkit.seed.SeedExtension;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile request bodies: random text, mutated valid bodies, deep nesting and huge values, at most
 * ferry.http.request-bytes-max long, must each become a record or a {@link BadRequest} naming what
 * is wrong — never another exception (a 500) and never a hang. Seeded; replay with -Dferry.seed=N.
 */
@ExtendWith(SeedExtension.class)
class RequestBodiesFuzzTest {
  private static final int ROUNDS = 20_000;
  private static final int BODY_CHARS_MAX = 64 * 1024;

  private record Kind(Class<? extends Record> type, String what, String valid) {}

  private static final List<Kind> KINDS =
      List.of(
          new Kind(MigrationRoutes.MigrationRequest.class, "a migration instruction", "{\"query\":\"q\",\"nodes\":[\"window-a\",\"out\"],\"to\":\"cloud\"}"),
          new Kind(
              VolumeRoutes.VolumeRequest.class,
              "a volume migration",
              "{\"volume\":\"vm-1\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"/i.img\",\"targetSite\":\"cloud\",\"blockSize\":65536,\"trace\":\"/t\"}"),
          new Kind(QueryRoutes.DeployRequest.class, "a deployment", deployBody()));

  /** A valid deployment as the CLI would send it: a built graph written by Jackson. */
  private static String deployBody() {
    QueryGraph g = Query.named("q").generate("src", new OperatorSpec.Generate(1, 2, 10, 0, 10, 0, 0)).collect("out", "src").build();
    try {
      return JsonMapper.builder().addModule(new Jdk8Module()).build().writeValueAsString(Map.of("graph", g, "placement", Map.of("src", "edge-a", "out", "edge-a")));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final String[] PIECES = {
    "{", "}", "[", "]", ",", ":", "\"", "null", "true", "-1", "1e999999", "9223372036854775808", "\"\\u0000\"", "\"\\ud800\"",
    "\"../../etc/passwd\"", "\"" + "x".repeat(5000) + "\"", "{\"kind\":\"nope\"}", "\"op\"", "\"nodes\"", "0.5", "\n", "\\"
  };

  @Test
  void hostileBodiesBecomeARecordOrA400(Seed testSeed) {
    Random random = new Random(testSeed.value());
    int round = 0;
    int accepted = 0;
    try {
      for (round = 0; round < ROUNDS; round++) {
        Kind kind = KINDS.get(random.nextInt(KINDS.size()));
        String body = body(random, kind.valid());
        try {
          RequestBodies.read(body, kind.type(), kind.what(), "{}");
          accepted++;
        } catch (BadRequest expected) {
          assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(), "a 400 says why");
        }
      }
    } catch (RuntimeException | StackOverflowError e) {
      fail("round " + round + " seed " + testSeed.value() + ": " + e, e);
    }
    // Some mutations leave a body valid: the fuzzer reaches the records' own checks, not only the parser.
    assertTrue(accepted > 0, "no body was ever accepted: the mutations only exercise the JSON parser");
  }

  private static String body(Random random, String valid) {
    String b;
    switch (random.nextInt(6)) {
      case 0 -> b = valid;
      case 1 -> {
        StringBuilder s = new StringBuilder(valid);
        for (int i = 1 + random.nextInt(3); i > 0 && s.length() > 0; i--) {
          int at = random.nextInt(s.length());
          switch (random.nextInt(3)) {
            case 0 -> s.deleteCharAt(at);
            case 1 -> s.insert(at, PIECES[random.nextInt(PIECES.length)]);
            default -> s.setCharAt(at, (char) random.nextInt(128));
          }
        }
        b = s.toString();
      }
      case 2 -> {
        char[] c = new char[random.nextInt(512)];
        for (int i = 0; i < c.length; i++) {
          c[i] = (char) random.nextInt(random.nextBoolean() ? 128 : 0xFFFF);
        }
        b = new String(c);
      }
      case 3 -> {
        int depth = random.nextInt(20_000);
        b = "{\"graph\":" + "[".repeat(depth) + "]".repeat(depth) + "}";
      }
      case 4 -> {
        // A valid body's value replaced by a hostile piece.
        int at = valid.indexOf(':', random.nextInt(valid.length()));
        b = at < 0 ? valid : valid.substring(0, at + 1) + PIECES[random.nextInt(PIECES.length)] + valid.substring(Math.min(valid.length(), valid.indexOf(',', at + 1) < 0 ? valid.length() - 1 : valid.indexOf(',', at + 1)));
      }
      default -> {
        StringBuilder s = new StringBuilder("{");
        for (int i = random.nextInt(200); i > 0; i--) {
          s.append('"').append("f").append(random.nextInt(50)).append("\":").append(PIECES[random.nextInt(PIECES.length)]).append(',');
        }
        b = s.append("\"x\":1}").toString();
      }
    }
    return b.length() > BODY_CHARS_MAX ? b.substring(0, BODY_CHARS_MAX) : b;
  }
}
