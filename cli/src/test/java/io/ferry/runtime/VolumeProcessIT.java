package io.ferry.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.testkit.Ext4Images;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume's end of life with every member its own JVM (edge-b holds the registry and the shared
 * H2 journal; edge-a the source; cloud the target) and the source's member killed with SIGKILL
 * twice: once with write-back writes acknowledged at the target and not yet shipped, once right
 * after the cut-over was asked. qemu-io writes through the export; the target after the cut-over
 * and the source after the reverse equal the image the acknowledged writes make. Four JVMs: it
 * runs with {@code -DvolumeProcesses=true}.
 */
@EnabledIfSystemProperty(named = "volumeProcesses", matches = "true")
class VolumeProcessIT {
  private static final int BLOCK = 64 * 1024;
  private static final int SIZE = 8 << 20;

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void cutOverAndReverseWithTheSourcesMemberKilledDuringWriteBackAndDuringTheCutOver() throws Exception {
    long seed = Long.getLong("ferry.seed", System.nanoTime());
    System.out.println("VolumeProcessIT seed " + seed + " (replay with -Dferry.seed=" + seed + ")");
    Random r = new Random(seed);
    byte[] image = new byte[SIZE];
    r.nextBytes(image);
    Arrays.fill(image, 20 * BLOCK, 40 * BLOCK, (byte) 0);
    Path src = dir.resolve("vol-p.img");
    Files.write(src, image);
    byte[] expected = image.clone();
    String conf = String.join("\n",
        "ferry.persistence.h2.url = \"jdbc:h2:async:" + dir.resolve("shared-journal") + ";AUTO_SERVER=TRUE;WRITE_DELAY=0\"",
        "ferry.blocks.changes { rpo = 2s, cut-over-threshold-blocks = 4 }");
    try (ProcessCluster c = new ProcessCluster(dir, conf)) {
      ProcessCluster.Member registry = c.start("edge-b", "edge");
      c.awaitUp(Duration.ofSeconds(90));
      ProcessCluster.Member source = c.start("edge-a", "edge");
      c.start("cloud", "cloud");
      c.awaitUp(Duration.ofSeconds(90));

      String start = "{\"volume\":\"vol-p\",\"sourceSite\":\"edge-a\",\"sourcePath\":\"" + src + "\",\"targetSite\":\"cloud\",\"blockSize\":" + BLOCK + "}";
      HttpResponse<String> started = post(registry, "/volumes", start);
      assertEquals(201, started.statusCode(), started.body());
      JsonNode copied = awaitPhase(registry, "COPIED", 120);
      String url = copied.path("nbdUrl").asText();
      assertEquals(200, post(registry, "/volumes/vol-p/policy", "{\"policy\":\"write-back\"}").statusCode());

      // Write-back: acknowledged at the target, then the source's member dies before they ship.
      write(url, writes(r, 20), expected);
      c.kill(source);
      source = c.start("edge-a", "edge");
      awaitSource(src, expected, 120, "write-back after kill -9 of the source's member");

      // The cut-over is asked, and the source's member dies under its first pass.
      write(url, writes(r, 20), expected);
      HttpResponse<String> cut = post(registry, "/volumes/vol-p/cutover", "");
      assertEquals(200, cut.statusCode(), cut.body());
      c.kill(source);
      c.start("edge-a", "edge");
      JsonNode over = awaitPhase(registry, "CUT_OVER", 180);
      assertEquals("target", over.path("changes").path("primary").asText(), over.toString());
      Path expectedFile = dir.resolve("expected.img");
      Files.write(expectedFile, expected);
      String compare = Ext4Images.run(List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", expectedFile.toString(), url));
      assertTrue(compare.contains("Images are identical"), "the target after the cut-over: " + compare);

      write(url, writes(r, 5), expected);
      long pending = status(registry).orElseThrow().path("changes").path("pendingBlocks").asLong();
      assertEquals(200, post(registry, "/volumes/vol-p/reverse", "").statusCode());
      JsonNode reversed = awaitPhase(registry, "REVERSED", 120);
      awaitSource(src, expected, 30, "the source after the reverse");
      System.out.printf("VolumeProcessIT: reverse shipped %d blocks of %d (%.3f of the volume); changes %s%n",
          pending, SIZE / BLOCK, (double) pending * BLOCK / SIZE, reversed.path("changes"));
    }
  }

  private void awaitSource(Path src, byte[] expected, int seconds, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!Arrays.equals(Files.readAllBytes(src), expected)) {
      assertTrue(System.nanoTime() < deadline, what + ": the source does not hold every acknowledged write within " + seconds + " s");
      TimeUnit.MILLISECONDS.sleep(250);
    }
  }

  private record Write(long offset, int length, int pattern) {}

  private static List<Write> writes(Random r, int n) {
    List<Write> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int length = r.nextBoolean() ? BLOCK : 512 * (1 + r.nextInt(300));
      long offset = Math.min(SIZE - length, r.nextBoolean() ? (long) r.nextInt(SIZE / BLOCK) * BLOCK : 512L * r.nextInt((SIZE - length) / 512));
      out.add(new Write(offset, length, 1 + r.nextInt(254)));
    }
    return out;
  }

  private static void write(String url, List<Write> writes, byte[] expected) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
    for (Write w : writes) {
      cmd.add("-c");
      cmd.add("write -P 0x" + Integer.toHexString(w.pattern()) + " " + w.offset() + " " + w.length());
    }
    cmd.add(url);
    String out = Ext4Images.run(cmd);
    for (Write w : writes) {
      assertTrue(out.contains("wrote " + w.length() + "/" + w.length() + " bytes at offset " + w.offset()), "acknowledged: " + w + "\n" + out);
      Arrays.fill(expected, (int) w.offset(), (int) w.offset() + w.length(), (byte) w.pattern());
    }
  }

  private JsonNode awaitPhase(ProcessCluster.Member m, String phase, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    Optional<JsonNode> st = Optional.empty();
    while (System.nanoTime() < deadline) {
      st = status(m);
      if (st.isPresent() && st.get().path("phase").asText().equals(phase) && !st.get().path("nbdUrl").asText().isEmpty()) {
        return st.get();
      }
      TimeUnit.MILLISECONDS.sleep(250);
    }
    throw new AssertionError("vol-p not " + phase + " within " + seconds + " s: " + st);
  }

  private Optional<JsonNode> status(ProcessCluster.Member m) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.url() + "/volumes/vol-p")).timeout(Duration.ofSeconds(15)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(json.readTree(r.body())) : Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  private HttpResponse<String> post(ProcessCluster.Member m, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(m.url() + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
